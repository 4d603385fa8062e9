export * from './tokenizer.js';
export * from './examples.js';
export * from './tasks.js';
export * from './tiny-transformer.js';
export * from './decode.js';
export * from './llama.js';
