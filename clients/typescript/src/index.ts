// exactly for TypeScript: a typed client over ioredis.
export { Exactly, ExactlyOptions, Lock, LockBusy, LockLost, LockWith, Transaction } from './client';
export { commands, Command, Int, LockRef } from './commands';
export { idempotency, IdempotencyOptions } from './express';
export * from './results';
