// `--store-activations false`: the record keeps its status and timings only. The result (an empty object stays in
// its place so clients reading `response.result` keep working), the logs and anything derived from the parameters are
// dropped before the record is written; an annotation says so. Blocking callers get this record too.
import type { ActivationRecord } from '../types.js';

export function statusOnlyRecord(record: ActivationRecord): ActivationRecord {
  const { status, statusCode, success } = record.response;
  return {
    ...record,
    response: { status, statusCode, success, result: {} },
    logs: [],
    annotations: [...record.annotations, { key: 'storeActivations', value: false }],
  };
}
