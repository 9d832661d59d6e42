import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { BackupError, BackupProblem } from './backup-format.js';

/** Reading an ndjson export back, line by line, checked: what an import replays. */

/** Ids as API.md allows them. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._~:@-]{0,127}$/;
/** A u64 as the export writes it. */
const DIGITS = /^[0-9]{1,20}$/;

/** A validated line of a decrypted export. */
export interface SourceEvent {
  line: number;
  threadId: string;
  revision: bigint;
  kind: string;
  actor: string;
  payload: Record<string, unknown>;
}

function refuse(line: number, problem: string): never {
  throw new BackupError(BackupProblem.invalidInput, `line ${line} of the export: ${problem}`);
}

/** A string field of a line. @throws BackupError INVALID_INPUT */
export function str(value: unknown, line: number, field: string): string {
  if (typeof value !== 'string') refuse(line, `${field} is not a string`);
  return value;
}

/** A list-of-strings field of a line. @throws BackupError INVALID_INPUT */
export function strings(value: unknown, line: number, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    refuse(line, `${field} is not a list of strings`);
  }
  return value as string[];
}

/** A string-map field of a line (absent: empty). @throws BackupError INVALID_INPUT */
export function stringMap(value: unknown, line: number, field: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    refuse(line, `${field} is not an object`);
  }
  for (const v of Object.values(value))
    if (typeof v !== 'string') refuse(line, `${field} holds a non-string`);
  return value as Record<string, string>;
}

/** Parses and checks one line. @throws BackupError INVALID_INPUT, naming the line */
function parseLine(text: string, line: number): SourceEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    refuse(line, 'not JSON (is this an ndjson export?)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    refuse(line, 'not a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  const payload = record.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    refuse(line, 'payload is not an object');
  }
  const body = payload as Record<string, unknown>;
  if (record.sealed === true || 'body_sealed' in body || 'title_sealed' in body) {
    throw new BackupError(
      BackupProblem.invalidInput,
      `line ${line} of the export holds sealed content: only a decrypted export can be imported ` +
        '(export again with --decrypt)',
    );
  }
  const threadId = str(record.thread_id, line, 'thread_id');
  if (!ID.test(threadId)) refuse(line, 'thread_id is not a valid id');
  const revision = str(record.revision, line, 'revision');
  if (!DIGITS.test(revision) || BigInt(revision) === 0n)
    refuse(line, 'revision is not a positive number');
  const actor = record.actor === undefined ? '' : str(record.actor, line, 'actor');
  if (actor !== '' && !ID.test(actor)) refuse(line, 'actor is not a valid id');
  return {
    line,
    threadId,
    revision: BigInt(revision),
    kind: str(record.kind, line, 'kind'),
    actor,
    payload: body,
  };
}

/** Reads every line of an export file, checked, in order. */
export async function* readExport(file: string): AsyncGenerator<SourceEvent> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let number = 0;
  for await (const text of lines) {
    number++;
    if (text.trim() === '') continue;
    yield parseLine(text, number);
  }
}
