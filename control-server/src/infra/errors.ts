/** Errors that cross a boundary carry a stable code (SERVER_ERR_*). */
export class ControlServerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ControlServerError';
    this.code = code;
  }
}
