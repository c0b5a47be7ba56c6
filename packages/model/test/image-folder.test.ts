import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DatasetError, loadImageFolder, resizeToUint8 } from '../src/index.js';

const root = mkdtempSync(path.join(tmpdir(), 'kpfl-images-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = path.join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};

/** A solid-colour w x h PNG or JPEG, written with the same libraries the loader decodes with. */
function image(file: string, w: number, h: number, rgb: [number, number, number]) {
  mkdirSync(path.dirname(file), { recursive: true });
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
  if (file.endsWith('.png')) {
    const png = new PNG({ width: w, height: h });
    data.copy(png.data);
    writeFileSync(file, PNG.sync.write(png));
  } else {
    writeFileSync(file, jpeg.encode({ data, width: w, height: h }, 100).data);
  }
}

async function rejects(dir: string, code: string, message: RegExp, o = {}) {
  await assert.rejects(loadImageFolder(dir, { size: { rows: 4, cols: 4 }, ...o }), (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

describe('loadImageFolder', () => {
  it('reads PNG and JPEG class folders in sorted order, resized, as grayscale', async () => {
    const d = fresh();
    image(path.join(d, 'white', 'a.png'), 10, 6, [255, 255, 255]);
    image(path.join(d, 'white', 'b.jpg'), 3, 3, [255, 255, 255]);
    image(path.join(d, 'black', 'a.PNG'), 8, 8, [0, 0, 0]);
    image(path.join(d, 'black', 'b.jpeg'), 5, 7, [0, 0, 0]);
    image(path.join(d, 'red', 'a.png'), 2, 2, [255, 0, 0]);
    image(path.join(d, 'red', 'b.png'), 2, 2, [255, 0, 0]);
    const ds = await loadImageFolder(d, { size: { rows: 4, cols: 5 }, testFraction: 0.5, seed: 1 });
    assert.deepEqual(ds.classes, ['black', 'red', 'white']);
    assert.equal(ds.trainLabels.length, 3);
    assert.equal(ds.testLabels.length, 3);
    // One of each class per split (the split is per class).
    assert.deepEqual([...ds.trainLabels].sort(), [0, 1, 2]);
    assert.equal(ds.trainImages.length, 3 * 20);
    const want = [0, 76, 255]; // BT.601 luma of black, red, white
    for (const [imgs, labels] of [
      [ds.trainImages, ds.trainLabels],
      [ds.testImages, ds.testLabels],
    ] as const) {
      labels.forEach((l, i) => {
        for (const v of imgs.subarray(i * 20, (i + 1) * 20))
          assert.ok(Math.abs(v - want[l]) <= 2, `class ${l}: ${v}`);
      });
    }
    const again = await loadImageFolder(d, { size: { rows: 4, cols: 5 }, testFraction: 0.5, seed: 1 });
    assert.equal(again.manifestDigest, ds.manifestDigest);
    const rgb = await loadImageFolder(d, {
      size: { rows: 4, cols: 5 },
      testFraction: 0.5,
      seed: 1,
      channels: 3,
    });
    assert.notEqual(rgb.manifestDigest, ds.manifestDigest);
    assert.equal(rgb.trainImages.length, 3 * 60);
    const red = rgb.trainLabels.indexOf(1);
    assert.deepEqual([...rgb.trainImages.subarray(red * 60, red * 60 + 3)], [255, 0, 0]);
  });

  it('uses train/ and test/ folders when both exist', async () => {
    const d = fresh();
    image(path.join(d, 'train', 'x', '1.png'), 4, 4, [0, 0, 0]);
    image(path.join(d, 'train', 'y', '1.png'), 4, 4, [255, 255, 255]);
    image(path.join(d, 'train', 'y', '2.png'), 4, 4, [255, 255, 255]);
    image(path.join(d, 'test', 'y', '1.png'), 4, 4, [255, 255, 255]);
    const ds = await loadImageFolder(d, { size: { rows: 2, cols: 2 } });
    assert.deepEqual([...ds.trainLabels], [0, 1, 1]);
    assert.deepEqual([...ds.testLabels], [1]);
    assert.deepEqual(
      ds.files.map((f) => f.name),
      ['train/x/1.png', 'train/y/1.png', 'train/y/2.png', 'test/y/1.png'],
    );
  });

  describe('refuses bad input, naming the file', () => {
    it('a corrupt image', async () => {
      const d = fresh();
      image(path.join(d, 'a', '1.png'), 4, 4, [0, 0, 0]);
      mkdirSync(path.join(d, 'b'));
      const good = new PNG({ width: 4, height: 4 });
      writeFileSync(path.join(d, 'b', 'broken.png'), PNG.sync.write(good).subarray(0, 40));
      await rejects(d, 'NOT_AN_IMAGE', /b\/broken\.png: corrupt PNG/);
    });
    it('a file that is not an image', async () => {
      const d = fresh();
      image(path.join(d, 'a', '1.png'), 4, 4, [0, 0, 0]);
      mkdirSync(path.join(d, 'b'));
      writeFileSync(path.join(d, 'b', 'notes.txt'), 'hello');
      await rejects(d, 'NOT_AN_IMAGE', /b\/notes\.txt is not a \.png, \.jpg or \.jpeg file/);
      rmSync(path.join(d, 'b', 'notes.txt'));
      writeFileSync(path.join(d, 'b', 'fake.jpg'), 'not really');
      await rejects(d, 'NOT_AN_IMAGE', /fake\.jpg is neither a PNG nor a JPEG/);
    });
    it('no class folders, a single class, a missing directory', async () => {
      const d = fresh();
      image(path.join(d, 'loose.png'), 4, 4, [0, 0, 0]);
      await rejects(d, 'NO_CLASS_FOLDERS', /no class folders with images/);
      image(path.join(d, 'only', '1.png'), 4, 4, [0, 0, 0]);
      await rejects(d, 'FEW_CLASSES', /one class folder \(only\)/);
      await rejects(path.join(d, 'nope'), 'NOT_A_DIRECTORY', /does not exist/);
    });
    it('a test class the train split lacks', async () => {
      const d = fresh();
      image(path.join(d, 'train', 'x', '1.png'), 4, 4, [0, 0, 0]);
      image(path.join(d, 'train', 'y', '1.png'), 4, 4, [0, 0, 0]);
      image(path.join(d, 'test', 'z', '1.png'), 4, 4, [0, 0, 0]);
      await rejects(d, 'UNKNOWN_LABEL', /class folder 'z' has no counterpart/);
    });
    it('bad channels and sizes', async () => {
      const d = fresh();
      await rejects(d, 'BAD_OPTIONS', /channels must be 1 \(grayscale\) or 3 \(RGB\), got 4/, {
        channels: 4,
      });
      await rejects(d, 'BAD_OPTIONS', /rows must be an integer 1\.\.4096, got 0/, {
        size: { rows: 0, cols: 4 },
      });
    });
  });
});

describe('resizeToUint8', () => {
  it('interpolates bilinearly with half-pixel centres', () => {
    // A 2x1 image black | white, widened to 4: the outer pixels clamp, the inner ones blend 1:3.
    const rgba = Uint8Array.from([0, 0, 0, 255, 200, 200, 200, 255]);
    const out = new Uint8Array(4);
    resizeToUint8({ width: 2, height: 1, rgba }, 1, 4, 1, out, 0);
    assert.deepEqual([...out], [0, 50, 150, 200]);
  });
});
