export * from './chain.ts';
export * from './chain-pull.ts';
export * from './codec.ts';
export * from './directory.ts';
export * from './ops.ts';
export * from './people.ts';
export * from './sync.ts';
