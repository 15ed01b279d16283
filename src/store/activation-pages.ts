// Pieces of activation listing both adapters share: list order, and pages filtered by several status codes.
import type { ActivationListFilter } from '../types.js';

type Listed = { start: number; activationId: string };

/** List order: newest start first, then activationId descending (the keyset the cursor encodes). */
export function listOrder(a: Listed, b: Listed): number {
  if (a.start !== b.start) return b.start - a.start;
  return a.activationId < b.activationId ? 1 : a.activationId > b.activationId ? -1 : 0;
}

/**
 * A page filtered by several status codes: one ordered index scan per code, each cut at limit + skip, merged.
 * An IN list would make the store read every matching record and sort them; this reads at most (limit + skip) per code.
 */
export async function listByStatuses<T extends Listed>(
  f: ActivationListFilter,
  listOne: (f: ActivationListFilter) => Promise<T[]>,
): Promise<T[]> {
  const codes = [...new Set(f.statusCodes ?? [])];
  const unlimited = f.limit <= 0;
  const parts = await Promise.all(
    codes.map((code) => listOne({ ...f, statusCodes: [code], limit: unlimited ? 0 : f.limit + f.skip, skip: 0 })),
  );
  const merged = parts.flat().sort(listOrder);
  return unlimited ? merged.slice(f.skip) : merged.slice(f.skip, f.skip + f.limit);
}
