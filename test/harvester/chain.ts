/**
 * A real local EVM chain for the harvester tests: anvil from the npm package (the binary itself, so the
 * pid we kill is the node), the project's own fixture contracts compiled with solc-js (cached in the temp
 * dir by source hash, ~1.5 s the first time), deployed with viem, and helpers to make transactions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  type Abi,
  createTestClient,
  type Hex,
  http,
  publicActions,
  type TestClient,
  walletActions,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

const require = createRequire(import.meta.url);

/** anvil's well-known dev keys (the test mnemonic): #0 deploys, the others are users. */
export const KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3e78b2f74b1f7a26',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
] as const;
export const accounts = KEYS.map((k) => privateKeyToAccount(k));

export interface Anvil {
  url: string;
  wsUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  return join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
}

/** Starts anvil on a free loopback port; resolves once it listens. */
export async function startAnvil(args: string[] = []): Promise<Anvil> {
  const child = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`anvil did not start: ${out}`)), 10_000);
    child.once('error', reject);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        // anvil logs every call from now on: keep draining so it never blocks on a full pipe.
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve(Number(m[1]));
      }
    });
    child.stderr?.resume();
  });
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface Artifact {
  abi: Abi;
  bytecode: Hex;
}
export type ContractName = 'TestToken' | 'TestOdysseyNFT' | 'TestStaking' | 'TestNodeManagement';

/** The fixture contracts, compiled once per source version (cached in the temp dir). */
export async function artifacts(): Promise<Record<ContractName, Artifact>> {
  const source = readFileSync(new URL('./fixtures/Odyssey.sol', import.meta.url), 'utf8');
  const solc = require('solc') as { compile(input: string): string; version(): string };
  const hash = createHash('sha256').update(source).update(solc.version()).digest('hex').slice(0, 16);
  const cache = join(tmpdir(), 'odyssey-node-fixtures', `${hash}.json`);
  try {
    return JSON.parse(await readFile(cache, 'utf8'));
  } catch {
    // not compiled yet
  }
  const output = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'Odyssey.sol': { content: source } },
        settings: {
          // paris: the same bytecode runs on every local chain (docs/chains.md).
          evmVersion: 'paris',
          optimizer: { enabled: true, runs: 200 },
          outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
        },
      }),
    ),
  );
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === 'error');
  if (errors.length) throw new Error(`solc: ${errors.map((e: { message: string }) => e.message).join('\n')}`);
  const out = {} as Record<ContractName, Artifact>;
  for (const [name, c] of Object.entries(output.contracts['Odyssey.sol'])) {
    const contract = c as { abi: Abi; evm: { bytecode: { object: string } } };
    out[name as ContractName] = { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
  }
  await mkdir(dirname(cache), { recursive: true });
  await writeFile(cache, JSON.stringify(out));
  return out;
}

export type Client = TestClient<'anvil'> &
  ReturnType<typeof publicActions> &
  ReturnType<typeof walletActions>;

export function testClient(url: string): Client {
  return createTestClient({ chain: foundry, mode: 'anvil', transport: http(url), cacheTime: 0 })
    .extend(publicActions)
    .extend(walletActions) as unknown as Client;
}

export interface Deployed {
  token: Hex;
  dad: Hex;
  nft: Hex;
  staking: Hex;
  node: Hex;
  /** Block of the last deployment: a good start block. */
  block: number;
}

export async function deployAll(client: Client): Promise<Deployed> {
  const a = await artifacts();
  const deploy = async (name: ContractName) => {
    const hash = await client.deployContract({
      abi: a[name].abi,
      bytecode: a[name].bytecode,
      account: accounts[0],
      chain: foundry,
    });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    return { address: receipt.contractAddress as Hex, block: Number(receipt.blockNumber) };
  };
  const token = await deploy('TestToken');
  const dad = await deploy('TestToken');
  const nft = await deploy('TestOdysseyNFT');
  const staking = await deploy('TestStaking');
  const node = await deploy('TestNodeManagement');
  return {
    token: token.address,
    dad: dad.address,
    nft: nft.address,
    staking: staking.address,
    node: node.address,
    block: node.block,
  };
}

/** Sends a contract call from `from` (an index into `accounts`) and waits for it to be mined. */
export async function send(
  client: Client,
  address: Hex,
  name: ContractName,
  functionName: string,
  args: unknown[],
  from = 0,
): Promise<{ block: number; hash: Hex }> {
  const a = await artifacts();
  const hash = await client.writeContract({
    address,
    abi: a[name].abi,
    functionName,
    args,
    account: accounts[from],
    chain: foundry,
  } as never);
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 10 });
  if (receipt.status !== 'success') throw new Error(`${name}.${functionName} reverted`);
  return { block: Number(receipt.blockNumber), hash };
}

/** Calldata for a contract call (for anvil_reorg, which takes transaction requests). */
export async function calldata(name: ContractName, functionName: string, args: unknown[]): Promise<Hex> {
  const { encodeFunctionData } = await import('viem');
  const a = await artifacts();
  return encodeFunctionData({ abi: a[name].abi, functionName, args } as never);
}
