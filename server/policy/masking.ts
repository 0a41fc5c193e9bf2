/**
 * Field masking, pure. Phone numbers (`relation.remarkMobiles`) are always masked; admins may add
 * other fields from MASKABLE_FIELDS. A member without `unmask` on the customer gets the first three
 * characters and `*` for the rest (13812345678 → 138********). Masked fields are never searched,
 * filtered or sorted on, so the list of maskable fields excludes those the list searches (name, remark).
 */

export const MASKABLE_FIELDS = [
  'relation.remarkMobiles',
  'relation.description',
  'relation.remarkCorpName',
  'customer.corpName',
  'customer.corpFullName',
  'customer.position',
] as const;
export type MaskableField = typeof MASKABLE_FIELDS[number];

/** Always masked, whatever the setting says. */
export const ALWAYS_MASKED: readonly MaskableField[] = ['relation.remarkMobiles'];

export function isMaskableField(value: unknown): value is MaskableField {
  return typeof value === 'string' && (MASKABLE_FIELDS as readonly string[]).includes(value);
}

/** The configured set (unknown names dropped) plus the always-masked fields. */
export function maskedFieldSet(configured: readonly unknown[]): Set<MaskableField> {
  return new Set<MaskableField>([...ALWAYS_MASKED, ...configured.filter(isMaskableField)]);
}

/** First three characters kept, every other character (by code point) replaced with `*`. */
export function maskValue(value: string): string {
  const chars = [...value];
  return chars.slice(0, 3).join('') + '*'.repeat(Math.max(0, chars.length - 3));
}

/** `value` as a member may see it: in full with unmask or when the field is not masked, else masked. */
export function shownValue<T extends string | null>(field: MaskableField, value: T, masked: Set<MaskableField>, unmask: boolean): T {
  if (value === null || unmask || !masked.has(field)) return value;
  return maskValue(value) as T;
}
