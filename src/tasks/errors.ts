/** Every problem in a task file is one of these, printed as `file:line:column: message` (SPEC §1.7). */
export interface TaskFileError {
  readonly file: string;
  /** 0 when the problem concerns the whole file (unreadable, too large, unsafe owner). */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export function formatError(error: TaskFileError): string {
  return error.line === 0 ? `${error.file}: ${error.message}` : `${error.file}:${error.line}:${error.column}: ${error.message}`;
}
