import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CAPABILITIES, capabilitiesOf, ROLE_CAPABILITIES, ROLES } from '../src/index.js';

describe('capabilities: one vocabulary for the issuer and the authorization check', () => {
  it('the wire strings are the ones tokens in flight carry', () => {
    // Renaming one would lock out every member holding a token issued before the change.
    assert.deepEqual(Object.values(CAPABILITIES).sort(), [
      'audit:read',
      'certificate:sign',
      'evaluation:report',
      'key:deliver',
      'key:read',
      'model:download',
      'plan:write',
      'secagg:step',
      'submit:round',
      'task:read',
    ]);
  });

  it('each role grants what the aggregator requires of it, and every capability is granted', () => {
    assert.deepEqual([...ROLE_CAPABILITIES.participant].sort(), [
      'certificate:sign',
      'evaluation:report',
      'key:deliver',
      'key:read',
      'model:download',
      'secagg:step',
      'submit:round',
      'task:read',
    ]);
    assert.deepEqual(ROLE_CAPABILITIES.auditor, ['audit:read']);
    assert.deepEqual([...ROLE_CAPABILITIES.operator].sort(), ['audit:read', 'plan:write']);
    const granted = new Set(ROLES.flatMap((r) => ROLE_CAPABILITIES[r]));
    assert.deepEqual([...granted].sort(), Object.values(CAPABILITIES).sort());
  });

  it('capabilitiesOf: the union over known roles, each once, whatever the role order; unknown roles grant nothing', () => {
    const both = capabilitiesOf(['operator', 'auditor']);
    assert.deepEqual(both, capabilitiesOf(['auditor', 'operator']));
    assert.deepEqual([...both].sort(), ['audit:read', 'plan:write']);
    assert.deepEqual(capabilitiesOf(['admin']), []);
    assert.deepEqual(capabilitiesOf([]), []);
    assert.ok(!capabilitiesOf(['auditor']).includes(CAPABILITIES.submitRound));
  });
});
