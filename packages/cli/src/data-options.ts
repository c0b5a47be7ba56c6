import { getModelDefinition, type ModelId } from '@kpfl/model';
import { DATA_FORMATS, type LocalData, type LocalDataOptions } from '@kpfl/participant';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { parseIntOption, parseWithSchema, UserError } from './user-error.js';

/** ROWSxCOLS of --image-size. */
const IMAGE_SIZE = /^([1-9]\d{0,3})x([1-9]\d{0,3})$/;

const columnName = z.string().min(1, 'expected a column name');

/** Comma-separated names (--feature-columns, --classes): none empty, none twice. */
const nameList = z.string().refine(
  (s) => {
    const names = s.split(',').map((n) => n.trim());
    return names.every((n) => n !== '') && new Set(names).size === names.length;
  },
  { message: 'expected comma-separated names, none empty and none twice, e.g. a,b,c' },
);

const imageSize = z.string().regex(IMAGE_SIZE, 'expected ROWSxCOLS, e.g. 28x28');

/**
 * The settings that say how a participant reads its data: config keys of `participant` (merged
 * into its schema) and flags of `demo`, which hands them on to its participants.
 */
export const dataSettingsSchema = z.object({
  dataFormat: z.enum(DATA_FORMATS).optional(),
  labelColumn: columnName.optional(),
  featureColumns: nameList.optional(),
  classes: nameList.optional(),
  imageSize: imageSize.optional(),
  channels: z
    .union([z.literal(1), z.literal(3)], { errorMap: () => ({ message: 'expected 1 or 3' }) })
    .optional(),
  standardize: z.enum(['local', 'none']).optional(),
});

export type DataSettings = z.infer<typeof dataSettingsSchema>;

/** Settings that only one format reads are refused with another, so a typo'd format is not silently ignored. */
export function refineDataSettings(c: DataSettings, ctx: z.RefinementCtx): void {
  const format = c.dataFormat ?? 'idx';
  for (const key of ['labelColumn', 'featureColumns', 'classes', 'standardize'] as const) {
    if (c[key] !== undefined && format !== 'csv')
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: 'only applies to dataFormat csv' });
  }
  for (const key of ['imageSize', 'channels'] as const) {
    if (c[key] !== undefined && format !== 'images')
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [key],
        message: 'only applies to dataFormat images',
      });
  }
  if (format === 'images' && c.imageSize === undefined)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['imageSize'],
      message: 'dataFormat images needs the size every image is resized to, e.g. 28x28',
    });
}

const names = (s: string | undefined) => s?.split(',').map((n) => n.trim());

/** What loadLocalData needs of them (the settings are validated by the config schema first). */
export function localDataOptions(o: DataSettings): Pick<LocalDataOptions, 'format' | 'csv' | 'images'> {
  const format = o.dataFormat ?? 'idx';
  if (format === 'csv') {
    return {
      format,
      csv: {
        labelColumn: o.labelColumn,
        featureColumns: names(o.featureColumns),
        classes: names(o.classes),
        standardize: o.standardize,
      },
    };
  }
  if (format === 'images') {
    const m = IMAGE_SIZE.exec(o.imageSize ?? '');
    if (!m) throw new Error(`image size ${o.imageSize} is not ROWSxCOLS`); // the schema refused it already
    return { format, images: { rows: Number(m[1]), cols: Number(m[2]), channels: o.channels } };
  }
  return { format };
}

/** The flag of each setting, the same for `kpfl participant` and `kpfl demo`. */
const FLAGS: Record<keyof DataSettings, string> = {
  dataFormat: '--data-format',
  labelColumn: '--label-column',
  featureColumns: '--feature-columns',
  classes: '--classes',
  imageSize: '--image-size',
  channels: '--channels',
  standardize: '--standardize',
};

/** The demo's check of its data flags (the participant's config schema does the same for a participant). */
export function checkDataSettings(o: DataSettings): void {
  const keys = Object.keys(FLAGS) as (keyof DataSettings)[];
  const given = Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  const r = dataSettingsSchema.superRefine(refineDataSettings).safeParse(given);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = issue.path[0] as keyof DataSettings;
    throw new UserError(`${FLAGS[key] ?? key}: ${issue.message.replace(/dataFormat/g, '--data-format')}`);
  }
}

/** The same settings as `kpfl participant` flags, for a participant process the demo starts. */
export function dataFlags(o: DataSettings): string[] {
  return (Object.keys(FLAGS) as (keyof DataSettings)[]).flatMap((k) =>
    o[k] === undefined ? [] : [FLAGS[k], String(o[k])],
  );
}

/** The data flags, for `kpfl participant` and `kpfl demo`; `note(key)` appends e.g. the environment variable. */
export function addDataOptions(cmd: Command, note: (key: keyof DataSettings) => string = () => ''): Command {
  return cmd
    .addOption(
      new Option(
        '--data-format <format>',
        `how --dataset is read (default idx)${note('dataFormat')}`,
      ).choices(DATA_FORMATS),
    )
    .option(
      '--label-column <name>',
      `csv: the label column (default: the last)${note('labelColumn')}`,
      parseWithSchema('column-name', '--label-column', columnName),
    )
    .option(
      '--feature-columns <a,b,...>',
      `csv: the feature columns, in order (default: all but the label)${note('featureColumns')}`,
      parseWithSchema('name-list', '--feature-columns', nameList),
    )
    .option(
      '--classes <a,b,...>',
      `csv: every class label in class-id order (default: those in the file, sorted)${note('classes')}`,
      parseWithSchema('name-list', '--classes', nameList),
    )
    .addOption(
      new Option(
        '--standardize <how>',
        `csv: local = z-scores from this member's own training rows (default), none = values as written${note('standardize')}`,
      ).choices(['local', 'none']),
    )
    .option(
      '--image-size <ROWSxCOLS>',
      `images: resize every image to this, e.g. 28x28${note('imageSize')}`,
      parseWithSchema('image-size', '--image-size', imageSize),
    )
    .option(
      '--channels <n>',
      `images: 1 (grayscale, default) or 3 (RGB)${note('channels')}`,
      parseIntOption('--channels', 1),
    );
}

/**
 * `data` fits `model`: as many values per example as the model's input takes, and no label beyond
 * its classes. Checked where the model is known before anything runs (the demo; a participant
 * with --model-file), so a mismatch is one line (exit 2), not a failure inside training.
 */
export function checkModelFitsData(model: ModelId, data: LocalData, dataset: string): void {
  const def = getModelDefinition(model);
  const inputs = def.inputShape.reduce((a, b) => a * b, 1);
  if (inputs !== data.perExample)
    throw new UserError(
      `model ${model} takes ${inputs} values per example, but ${dataset} has ${data.perExample}`,
    );
  let top = 0;
  for (const labels of [data.trainLabels, data.testLabels]) for (const l of labels) top = Math.max(top, l);
  if (top >= def.numClasses)
    throw new UserError(`model ${model} has ${def.numClasses} classes, but ${dataset} has ${top + 1}`);
}
