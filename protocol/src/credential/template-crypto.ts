import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Enrolled templates are stored encrypted with AES-256-GCM under the key only the student's
 * credential carries (CNIL "type 2" storage): the server and the edge keep ciphertexts, and a
 * template exists in clear only in memory, for one comparison, when its credential is shown.
 * The associated data binds a ciphertext to its credential and to the model that made it.
 */
export interface EncryptedTemplate {
  credentialId: string;
  /** id and sha256 of the embedding model: templates of different models are never compared */
  modelId: string;
  modelSha256: string;
  /** 'f32' (raw float32) or 'i8' (symmetric int8, scale in the first 4 bytes) */
  encoding: 'f32' | 'i8';
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

export class TemplateCryptoError extends Error {
  constructor(
    readonly code: 'TEMPLATE_ERR_KEY' | 'TEMPLATE_ERR_AUTH',
    message: string,
  ) {
    super(message);
    this.name = 'TemplateCryptoError';
  }
}

function aad(t: Pick<EncryptedTemplate, 'credentialId' | 'modelId' | 'modelSha256' | 'encoding'>): Buffer {
  return Buffer.from(`portail-template-v1|${t.credentialId}|${t.modelId}|${t.modelSha256}|${t.encoding}`, 'utf8');
}

export function encryptTemplate(
  plaintext: Uint8Array,
  key: Uint8Array,
  meta: Pick<EncryptedTemplate, 'credentialId' | 'modelId' | 'modelSha256' | 'encoding'>,
): EncryptedTemplate {
  if (key.length !== 32) throw new TemplateCryptoError('TEMPLATE_ERR_KEY', 'template key must be 32 bytes');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(meta));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ...meta, iv: new Uint8Array(iv), ciphertext: new Uint8Array(ciphertext), tag: new Uint8Array(cipher.getAuthTag()) };
}

/**
 * Decrypt, hand the clear template to `use`, then zero it whatever happens. The callback must not
 * keep a reference to the buffer.
 */
export function withDecryptedTemplate<T>(t: EncryptedTemplate, key: Uint8Array, use: (plain: Uint8Array) => T): T {
  if (key.length !== 32) throw new TemplateCryptoError('TEMPLATE_ERR_KEY', 'template key must be 32 bytes');
  const decipher = createDecipheriv('aes-256-gcm', key, t.iv);
  decipher.setAAD(aad(t));
  decipher.setAuthTag(t.tag);
  const head = decipher.update(t.ciphertext);
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    head.fill(0);
    throw new TemplateCryptoError('TEMPLATE_ERR_AUTH', 'template does not authenticate: wrong key, tampered data or another credential');
  }
  const plain = new Uint8Array(head.length + tail.length);
  plain.set(head);
  plain.set(tail, head.length);
  head.fill(0);
  tail.fill(0);
  try {
    return use(plain);
  } finally {
    plain.fill(0);
  }
}
