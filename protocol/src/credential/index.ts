export * from './token.js';
export * from './template-crypto.js';
