import { randomUUID } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import {
  AGENT_ERROR_CODES,
  DELIVERY,
  MAX_TELEMETRY_SAMPLES,
  PROTOCOL_VERSION,
  Reply,
  agentSubscriptions,
  decodeBackendMessage,
  deviceTopic,
  encodeDeviceMessage,
  lastWill,
  type AcrnctlState,
  type AgentErrorCode,
  type ArtefactTarget,
  type CommandName,
  type DesiredState,
  type DeviceMessageInputMap,
  type DeviceMessageKind,
  type DmVmEvent,
  type OutboundMessage,
  type TelemetrySample,
  type UpdateStage,
} from '@hyperfleet/contracts';
import type { ConnectLimiter } from './connect-limiter';
import type { DeviceSpec, SimVmSpec } from './device-spec';
import { deleteVmRefusal, drawCommandFate, simulatedFailure } from './commands';
import { latencySample, latencyWindow } from './latency';
import type { FleetOptions } from './options';
import { mixSeed, nextEventDelayMs, Rng } from './prng';
import type { FleetStats } from './stats';

/**
 * One simulated agent: a real MQTT connection per device and the agent protocol v1 as docs/protocol.md
 * states it. Epoch raised before every CONNECT, birth at seq 0, status online, then one ordered message
 * in flight at a time (stop-and-wait), telemetry pipelined; replies matched by msgId; reply timeouts
 * re-publish the same message once; retryable rejections send the current fact again as a new message.
 */

type Payload<K extends DeviceMessageKind> = DeviceMessageInputMap[K]['payload'];

/** What became of one device message. */
export type MessageOutcome =
  | {
      status: 'accepted' | 'rejected';
      kind: DeviceMessageKind;
      msgId: string;
      epoch: number;
      seq: number;
      reply: Reply;
      code?: string;
      latencyMs: number;
      attempts: number;
    }
  | {
      status: 'timeout';
      kind: DeviceMessageKind;
      msgId: string;
      epoch: number;
      seq: number;
      attempts: number;
    }
  /** Never answered because it was never sent, or its connection ended first (see `reason`). */
  | {
      status: 'dropped';
      kind: DeviceMessageKind;
      reason: string;
      msgId?: string;
      epoch?: number;
      seq?: number;
    };

export interface SentEvent {
  deviceId: string;
  kind: DeviceMessageKind;
  msgId: string;
  epoch: number;
  seq: number;
  republish: boolean;
}

export interface ReplyEvent {
  deviceId: string;
  kind: DeviceMessageKind;
  msgId: string;
  epoch: number;
  seq: number;
  reply: Reply;
  latencyMs: number;
  attempts: number;
}

/** Events a device reports to its fleet (the fleet re-emits them). */
export interface DeviceEvents {
  sent: SentEvent;
  reply: ReplyEvent;
  /** A reply whose inReplyTo matches nothing in flight. */
  'unmatched-reply': { deviceId: string; reply: Reply };
  timeout: { deviceId: string; kind: DeviceMessageKind; msgId: string; epoch: number; seq: number };
  connected: { deviceId: string; epoch: number };
  online: { deviceId: string; epoch: number };
  offline: { deviceId: string; epoch: number; reason: 'connection-lost' | 'abrupt' | 'shutdown' | 'reboot' };
  'birth-rejected': { deviceId: string; epoch: number; reply: Reply };
  command: { deviceId: string; command: CommandName; commandId: string };
  desired: { deviceId: string; version: number | null };
  'vm-state': {
    deviceId: string;
    vmName: string;
    state: AcrnctlState;
    previousState: AcrnctlState;
    event?: DmVmEvent;
  };
  update: {
    deviceId: string;
    rolloutId: string;
    target: ArtefactTarget;
    stage: UpdateStage;
    error?: { code: string; message: string };
  };
  error: { deviceId: string; error: Error };
}
export type DeviceEventName = keyof DeviceEvents;

/** What a device needs from its fleet. */
export interface DeviceContext {
  options: FleetOptions;
  stats: FleetStats;
  limiter: ConnectLimiter;
  emit<E extends DeviceEventName>(event: E, payload: DeviceEvents[E]): void;
}

export type DevicePhase =
  'idle' | 'connecting' | 'registering' | 'online' | 'offline' | 'rebooting' | 'stopping' | 'stopped';

/** A VM at run time. */
export interface VmRuntime {
  spec: SimVmSpec;
  state: AcrnctlState;
  imageVersion: string | null;
  /** Multiplies the VM's latency: 1 when healthy, above after a regressing update. */
  latencyFactor: number;
  /** A command or an update is working on it: churn and faults leave it alone. */
  busy: boolean;
}

type OrderedKind = 'vm-state' | 'update-progress' | 'health' | 'cmd-ack' | 'status';

interface Fact {
  kind: OrderedKind;
  /** Builds the payload when the message is sent: always the current fact. Null: nothing to say any more. */
  build: () => unknown;
  resolve: (outcome: MessageOutcome) => void;
  retries: number;
  /** Still worth sending after a reconnect (the birth does not restate it). */
  survivesReconnect: boolean;
  /** Not before this time (ms since epoch): a RATE_LIMITED retry. */
  notBefore?: number;
}

interface InFlight {
  msgId: string;
  kind: DeviceMessageKind;
  epoch: number;
  seq: number;
  out: OutboundMessage;
  firstSentAt: number;
  attempts: number;
  timer?: NodeJS.Timeout;
  generation: number;
  lane: 'birth' | 'serial' | 'telemetry' | 'raw';
  fact?: Fact;
  samples?: TelemetrySample[];
  droppedSamples?: number;
  resolveRaw?: (outcome: MessageOutcome) => void;
}

/** The rollout id a simulated device reports for a plan-only desired change (see nextJob). */
export const PLAN_ASSIGNMENT_ROLLOUT = 'plan-assignment';

interface UpdateJob {
  key: string;
  desiredVersion: number;
  rolloutId: string;
  target: ArtefactTarget;
  fromVersion: string | null;
  /** Needs a platform reboot: hypervisor, Service VM image, the image of a pre-launched VM. */
  reboots: boolean;
  vm?: VmRuntime;
}

interface PendingActivation {
  job: UpdateJob;
  bootFails: boolean;
  regress: boolean;
  /** The partition plan revision the new hypervisor binary is built from. */
  plan?: { planId: string; revision: number };
  /** apply-plan: the command whose done/failed waits for the boot. */
  commandId?: string;
}

export interface UpdateBehaviour {
  /** Fail at this stage (boot: roll back after the reboot, for updates that reboot). */
  failAt?: 'downloading' | 'verifying' | 'installing' | 'boot';
  /** Regress RT latency after activation. */
  regressLatency?: boolean;
}

const TELEMETRY_SAMPLES_PER_MESSAGE = 200;
const TELEMETRY_BUFFER_LIMIT = 2000;
const MAX_BACKOFF_MS = 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The promise's value, or undefined after `ms`; the timer is cleared either way. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Small messages waiting on each other's ACKs: turn Nagle off (mqtt.js leaves it on). */
export function noDelay(client: MqttClient): void {
  const stream = client.stream as unknown as { setNoDelay?: (on: boolean) => void } | undefined;
  stream?.setNoDelay?.(true);
}

function errorInfo(code: AgentErrorCode, detail?: string): { code: string; message: string } {
  return { code, message: detail ? `${AGENT_ERROR_CODES[code]} ${detail}` : AGENT_ERROR_CODES[code] };
}

export class SimDevice {
  readonly deviceId: string;
  readonly spec: DeviceSpec;
  private readonly ctx: DeviceContext;
  private readonly options: FleetOptions;
  private readonly stats: FleetStats;
  private readonly rng: Rng;

  // Persisted state (an agent keeps it on disk; the simulator keeps it in memory).
  private epochCounter = 0;
  private desiredApplied = 0;
  private afterBoot: Fact[] = [];
  private pendingActivations: PendingActivation[] = [];

  // Connection state.
  private client: MqttClient | undefined;
  private generation = 0;
  private phaseValue: DevicePhase = 'idle';
  private seqCounter = 0;
  private registered = false;
  private countedConnected = false;
  private countedOnline = false;
  private everOnline = false;
  private intentionalClose = new Set<number>();
  private abruptClose = new Set<number>();
  private suppressReconnect = false;
  private reconnectOverrideMs: number | undefined;
  private failures = 0;
  private birthRetries = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private onlineWaiters: Array<{ ok: () => void; fail: (e: Error) => void }> = [];
  private idleWaiters: Array<() => void> = [];

  // Messages.
  private readonly queue: Fact[] = [];
  private serialInFlight: InFlight | undefined;
  private readonly pending = new Map<string, InFlight>();
  private telemetryInFlight = 0;
  private telemetryBuffer: TelemetrySample[] = [];
  private droppedSamples = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private backlog: Array<{ topic: string; payload: Buffer }> = [];

  // The platform.
  readonly vms = new Map<string, VmRuntime>();
  private hypervisorVersion: string;
  private hypervisorPlan: { planId: string; revision: number } | null;
  private serviceVmImage: string;
  private bootId = randomUUID();
  private platformLatencyFactor = 1;
  private desired: DesiredState | undefined;
  private readonly failedJobs = new Set<string>();
  private updating = false;
  private nextUpdateBehaviour: UpdateBehaviour | undefined;
  private readonly commands = new Map<
    string,
    {
      command: CommandName;
      outcome: 'accepted' | 'done' | 'failed';
      error?: { code: string; message: string };
    }
  >();
  private healthWindowStart = new Date();
  private faultsInWindow = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private behavioursStarted = false;

  constructor(spec: DeviceSpec, ctx: DeviceContext) {
    this.deviceId = spec.deviceId;
    this.spec = spec;
    this.ctx = ctx;
    this.options = ctx.options;
    this.stats = ctx.stats;
    this.rng = new Rng(mixSeed(ctx.options.seed, spec.index, 0x0a11ce));
    this.hypervisorVersion = spec.hypervisor.version;
    this.hypervisorPlan = spec.hypervisor.plan ? { ...spec.hypervisor.plan } : null;
    this.serviceVmImage = spec.serviceVm.osImageVersion;
    for (const vm of spec.vms) {
      this.vms.set(vm.name, {
        spec: vm,
        state: vm.loadOrder === 'PRE_LAUNCHED_VM' ? 'untracked' : 'started',
        imageVersion: vm.imageVersion,
        latencyFactor: 1,
        busy: false,
      });
    }
  }

  // ------------------------------------------------------------------------------------------ state

  get phase(): DevicePhase {
    return this.phaseValue;
  }

  /** The current epoch (the persisted counter: raised before every CONNECT). */
  get epoch(): number {
    return this.epochCounter;
  }

  /** The last sequence number used in the current epoch. */
  get seq(): number {
    return this.seqCounter;
  }

  /** Birth accepted on the current connection. */
  get online(): boolean {
    return this.registered;
  }

  /** Messages waiting for their turn on the ordered lane. */
  get queued(): number {
    return this.queue.length;
  }

  /** Messages waiting for their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  get installed(): {
    hypervisor: { version: string; plan: { planId: string; revision: number } | null };
    serviceVm: string;
    vms: Record<string, string | null>;
    desiredVersion: number;
  } {
    return {
      hypervisor: { version: this.hypervisorVersion, plan: this.hypervisorPlan },
      serviceVm: this.serviceVmImage,
      vms: Object.fromEntries([...this.vms].map(([name, vm]) => [name, vm.imageVersion])),
      desiredVersion: this.desiredApplied,
    };
  }

  vmState(name: string): AcrnctlState | undefined {
    return this.vms.get(name)?.state;
  }

  /** Sets what the next update does, overriding the fleet's probabilities once. */
  forceNextUpdate(behaviour: UpdateBehaviour): void {
    this.nextUpdateBehaviour = behaviour;
  }

  /** Resolves when the device is online (birth accepted), or rejects after `timeoutMs`. */
  waitOnline(timeoutMs = 30_000): Promise<void> {
    if (this.registered) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onlineWaiters = this.onlineWaiters.filter((w) => w !== waiter);
        reject(new Error(`${this.deviceId} not online after ${timeoutMs} ms (phase ${this.phaseValue})`));
      }, timeoutMs);
      const waiter = {
        ok: () => {
          clearTimeout(timer);
          resolve();
        },
        fail: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.onlineWaiters.push(waiter);
    });
  }

  // ------------------------------------------------------------------------------------ connection

  /** Connects (raising the epoch first). Resolves once the CONNECT is under way. */
  async start(): Promise<void> {
    if (this.phaseValue !== 'idle' && this.phaseValue !== 'stopped') return;
    this.suppressReconnect = false;
    await this.connectNow();
  }

  private async connectNow(): Promise<void> {
    if (this.phaseValue === 'stopping' || this.phaseValue === 'stopped') {
      if (this.suppressReconnect) return;
    }
    this.phaseValue = 'connecting';
    await this.ctx.limiter.acquire();
    if (this.suppressReconnect) {
      this.phaseValue = 'stopped';
      return;
    }
    // 1. Raise the epoch (an agent writes it to disk and fsyncs before going on).
    this.epochCounter += 1;
    this.seqCounter = 0;
    this.registered = false;
    const epoch = this.epochCounter;
    const generation = ++this.generation;
    const will = lastWill(this.deviceId, { msgId: randomUUID(), epoch, sentAt: new Date().toISOString() });
    let password: string | undefined;
    try {
      password = this.options.credentialsFor ? await this.options.credentialsFor(this.deviceId) : undefined;
    } catch (e) {
      this.ctx.emit('error', {
        deviceId: this.deviceId,
        error: e instanceof Error ? e : new Error(String(e)),
      });
    }
    if (this.suppressReconnect) {
      this.phaseValue = 'stopped';
      return;
    }
    // 2. CONNECT: client id = device id, persistent session, keep-alive, the will of this epoch.
    const mqttOptions: IClientOptions = {
      clientId: this.deviceId,
      clean: false,
      keepalive: this.options.keepaliveSec,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      username: this.deviceId,
      will: { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain },
      resubscribe: false,
    };
    if (password !== undefined) mqttOptions.password = password;
    const client = connect(this.options.mqttUrl, mqttOptions);
    noDelay(client);
    this.client = client;
    client.on('connect', () => this.onConnect(generation, client));
    client.on('message', (topic, payload) => this.onMessage(generation, topic, payload));
    client.on('error', (err) => this.onClientError(generation, err));
    client.on('close', () => this.onClose(generation));
  }

  private onConnect(generation: number, client: MqttClient): void {
    if (generation !== this.generation) return;
    this.failures = 0;
    this.stats.connects++;
    if (this.everOnline || this.epochCounter > 1) this.stats.reconnects++;
    if (!this.countedConnected) {
      this.countedConnected = true;
      this.stats.devicesConnected++;
    }
    this.phaseValue = 'registering';
    this.ctx.emit('connected', { deviceId: this.deviceId, epoch: this.epochCounter });
    // 3. SUBSCRIBE to reply, desired and commands; 4. then the birth.
    const filters = Object.fromEntries(
      agentSubscriptions(this.deviceId).map((t) => [t, { qos: 1 as const }]),
    );
    client.subscribe(filters, (err) => {
      if (generation !== this.generation) return;
      if (err) {
        this.stats.recordConnectError('subscribe-failed');
        this.dropConnection();
        return;
      }
      this.sendBirth();
    });
  }

  private onClientError(generation: number, err: Error & { code?: number | string }): void {
    if (generation !== this.generation) return;
    if (!this.countedConnected) {
      // CONNACK refused (bad credentials, …) or the socket failed before CONNACK.
      const reason =
        typeof err.code === 'number'
          ? `connack-${err.code}${err.message ? ` (${err.message.replace(/^Connection refused: /, '')})` : ''}`
          : String(err.code ?? err.message);
      this.stats.recordConnectError(reason);
      this.client?.end(true);
    }
  }

  private onClose(generation: number): void {
    if (generation !== this.generation) return;
    const intentional = this.intentionalClose.delete(generation);
    const abrupt = this.abruptClose.delete(generation);
    const wasConnected = this.countedConnected;
    this.leaveConnection(intentional ? 'shutdown' : abrupt ? 'abrupt' : 'connection-lost');
    if (intentional) return;
    if (wasConnected && !abrupt) this.stats.connectionLosses++;
    if (!wasConnected) this.failures++;
    if (this.suppressReconnect) {
      this.phaseValue = 'stopped';
      return;
    }
    this.phaseValue = 'offline';
    const base = this.reconnectOverrideMs ?? this.options.reconnectDelayMs * 2 ** Math.min(this.failures, 5);
    this.reconnectOverrideMs = undefined;
    this.scheduleReconnect(Math.min(base, MAX_BACKOFF_MS) * (abrupt ? 1 : this.rng.range(0.75, 1.25)));
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connectNow();
    }, delayMs);
    this.reconnectTimer.unref();
  }

  /** Bookkeeping when a connection ends, whatever the reason. */
  private leaveConnection(reason: 'connection-lost' | 'abrupt' | 'shutdown' | 'reboot'): void {
    const epoch = this.epochCounter;
    if (this.countedOnline) {
      this.countedOnline = false;
      this.stats.devicesOnline--;
      this.ctx.emit('offline', { deviceId: this.deviceId, epoch, reason });
    }
    if (this.countedConnected) {
      this.countedConnected = false;
      this.stats.devicesConnected--;
    }
    this.registered = false;
    this.client = undefined;
    // What was in flight on that connection: the facts the birth does not restate go again, as new messages.
    for (const f of [...this.pending.values()]) {
      if (f.timer) clearTimeout(f.timer);
      this.pending.delete(f.msgId);
      this.stats.pending--;
      if (f.lane === 'serial' && f.fact) {
        if (f.fact.survivesReconnect && reason !== 'shutdown') this.queue.unshift(f.fact);
        else f.fact.resolve(this.dropped(f, 'the connection ended before the reply'));
      } else if (f.lane === 'telemetry' && f.samples) {
        this.telemetryInFlight--;
        this.bufferSamples(f.samples, true);
        this.droppedSamples += f.droppedSamples ?? 0;
      } else if (f.lane === 'raw') {
        f.resolveRaw?.(this.dropped(f, 'the connection ended before the reply'));
      }
    }
    this.serialInFlight = undefined;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    this.notifyIdle();
  }

  private dropped(f: InFlight, reason: string): MessageOutcome {
    return { status: 'dropped', kind: f.kind, reason, msgId: f.msgId, epoch: f.epoch, seq: f.seq };
  }

  /** Ends the connection with DISCONNECT (no will) and connects again at once, with a new epoch. */
  private dropConnection(delayMs = 0): void {
    const client = this.client;
    if (!client) return;
    this.intentionalClose.add(this.generation);
    this.leaveConnection('connection-lost');
    client.end(false, () => undefined);
    this.phaseValue = 'offline';
    this.scheduleReconnect(delayMs);
  }

  /**
   * Drops the connection without DISCONNECT, as a network loss would: the socket is destroyed, so the
   * broker publishes the will (status offline, this epoch). Reconnects with a new epoch after
   * `reconnectAfterMs` (default: the fleet's reconnect delay) unless `reconnect` is false.
   */
  disconnectAbruptly(options: { reconnect?: boolean; reconnectAfterMs?: number } = {}): void {
    const client = this.client;
    if (!client) return;
    this.stats.abruptDisconnects++;
    this.abruptClose.add(this.generation);
    this.reconnectOverrideMs = options.reconnectAfterMs ?? this.options.reconnectDelayMs;
    if (options.reconnect === false) this.suppressReconnect = true;
    client.stream.destroy();
  }

  /** Connects again (after `disconnectAbruptly({ reconnect: false })`, or to force a new epoch now). */
  async reconnect(): Promise<void> {
    this.suppressReconnect = false;
    if (this.client) {
      this.dropConnection(0);
      return;
    }
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.connectNow();
  }

  /**
   * Clean shutdown per the protocol: no new facts, the ordered lane drained (bounded), status offline
   * (`shutdown`) and its reply, then DISCONNECT (the broker discards the will).
   */
  async stop(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.suppressReconnect = true;
    this.stopBehaviours();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.phaseValue === 'stopped' && !this.client) {
      for (const w of this.onlineWaiters.splice(0)) w.fail(new Error(`${this.deviceId} was stopped`));
      return;
    }
    await this.goodbye(options.drainTimeoutMs ?? this.options.drainTimeoutMs, 'shutdown');
    for (const fact of this.queue.splice(0))
      fact.resolve({ status: 'dropped', kind: fact.kind, reason: 'stopped' });
    this.phaseValue = 'stopped';
    for (const w of this.onlineWaiters.splice(0)) w.fail(new Error(`${this.deviceId} was stopped`));
  }

  private async goodbye(drainTimeoutMs: number, reason: 'shutdown' | 'reboot'): Promise<void> {
    this.phaseValue = reason === 'reboot' ? 'rebooting' : 'stopping';
    const client = this.client;
    if (!client) return;
    const generation = this.generation;
    if (this.registered) {
      await this.waitIdle(drainTimeoutMs);
      if (this.registered && generation === this.generation) {
        const outcome = this.sendFact('status', () => ({ state: 'offline', reason: 'shutdown' }), {
          front: true,
          survivesReconnect: false,
          force: true,
        });
        await withTimeout(outcome, this.options.replyTimeoutMs);
      }
    }
    if (generation !== this.generation || !this.client) return;
    this.intentionalClose.add(generation);
    this.leaveConnection(reason);
    await new Promise<void>((resolve) => client.end(false, () => resolve()));
  }

  /** Resolves when nothing is queued or in flight on the ordered lane, or after `timeoutMs`. */
  private async waitIdle(timeoutMs: number): Promise<void> {
    if (!this.registered || (this.queue.length === 0 && !this.serialInFlight)) return;
    await withTimeout(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), timeoutMs);
  }

  private notifyIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  // ----------------------------------------------------------------------------------------- sending

  private encode(kind: DeviceMessageKind, message: unknown): OutboundMessage {
    if (this.options.validate) {
      return encodeDeviceMessage(this.deviceId, kind, message as DeviceMessageInputMap[typeof kind]);
    }
    return {
      topic: deviceTopic(this.deviceId, kind),
      payload: Buffer.from(JSON.stringify(message), 'utf8'),
      qos: DELIVERY[kind].qos,
      retain: DELIVERY[kind].retain,
    };
  }

  private publishNew(
    kind: DeviceMessageKind,
    payload: unknown,
    lane: InFlight['lane'],
    extra: Partial<InFlight> = {},
  ): InFlight | undefined {
    const client = this.client;
    if (!client) return undefined;
    const seq = kind === 'birth' ? 0 : ++this.seqCounter;
    const msgId = randomUUID();
    const message = {
      protocolVersion: PROTOCOL_VERSION,
      msgId,
      epoch: this.epochCounter,
      seq,
      sentAt: new Date().toISOString(),
      payload,
    };
    let out: OutboundMessage;
    try {
      out = this.encode(kind, message);
    } catch (e) {
      // A simulator bug: never publish anything off-contract.
      this.ctx.emit('error', {
        deviceId: this.deviceId,
        error: e instanceof Error ? e : new Error(String(e)),
      });
      return undefined;
    }
    const f: InFlight = {
      msgId,
      kind,
      epoch: this.epochCounter,
      seq,
      out,
      firstSentAt: performance.now(),
      attempts: 0,
      generation: this.generation,
      lane,
      ...extra,
    };
    this.pending.set(msgId, f);
    this.stats.pending++;
    this.transmit(f);
    return f;
  }

  private transmit(f: InFlight): void {
    const client = this.client;
    if (!client || f.generation !== this.generation) return;
    f.attempts++;
    const republish = f.attempts > 1;
    client.publish(f.out.topic, f.out.payload, { qos: f.out.qos, retain: f.out.retain }, () => undefined);
    this.stats.recordSent(f.kind, republish);
    this.ctx.emit('sent', {
      deviceId: this.deviceId,
      kind: f.kind,
      msgId: f.msgId,
      epoch: f.epoch,
      seq: f.seq,
      republish,
    });
    if (f.timer) clearTimeout(f.timer);
    f.timer = setTimeout(() => this.onReplyTimeout(f), this.options.replyTimeoutMs);
    f.timer.unref();
  }

  private onReplyTimeout(f: InFlight): void {
    if (this.pending.get(f.msgId) !== f) return;
    if (f.attempts < 2) {
      // No reply: the same message again (same msgId and seq); the gateway dedupes it.
      this.transmit(f);
      return;
    }
    this.pending.delete(f.msgId);
    this.stats.pending--;
    this.stats.timedOut++;
    this.ctx.emit('timeout', {
      deviceId: this.deviceId,
      kind: f.kind,
      msgId: f.msgId,
      epoch: f.epoch,
      seq: f.seq,
    });
    const outcome: MessageOutcome = {
      status: 'timeout',
      kind: f.kind,
      msgId: f.msgId,
      epoch: f.epoch,
      seq: f.seq,
      attempts: f.attempts,
    };
    switch (f.lane) {
      case 'birth':
        // Nothing may follow an unanswered birth: start over with a new epoch.
        this.dropConnection(this.backoffMs());
        return;
      case 'serial':
        this.serialInFlight = undefined;
        f.fact?.resolve(outcome);
        this.pump();
        return;
      case 'telemetry':
        this.telemetryInFlight--;
        this.flushTelemetry();
        return;
      case 'raw':
        f.resolveRaw?.(outcome);
    }
  }

  private backoffMs(): number {
    return Math.min(MAX_BACKOFF_MS, this.options.reconnectDelayMs * 2 ** Math.min(++this.birthRetries, 5));
  }

  /** Queues an ordered fact; resolves with what became of it. */
  private sendFact(
    kind: OrderedKind,
    build: () => unknown,
    options: { front?: boolean; survivesReconnect?: boolean; force?: boolean } = {},
  ): Promise<MessageOutcome> {
    return new Promise((resolve) => {
      const stopping = this.phaseValue === 'stopping' || this.phaseValue === 'stopped';
      if (stopping && !options.force) {
        resolve({ status: 'dropped', kind, reason: 'the device is stopping' });
        return;
      }
      const fact: Fact = {
        kind,
        build,
        resolve,
        retries: 0,
        survivesReconnect: options.survivesReconnect ?? kind !== 'vm-state',
      };
      if (options.front) this.queue.unshift(fact);
      else this.queue.push(fact);
      this.pump();
    });
  }

  /** Sends the next ordered fact if none is in flight (stop-and-wait). */
  private pump(): void {
    if (!this.registered || !this.client) {
      this.notifyIdle();
      return;
    }
    if (this.serialInFlight) return;
    while (this.queue.length > 0 && !this.serialInFlight) {
      const fact = this.queue[0];
      const wait = (fact.notBefore ?? 0) - Date.now();
      if (wait > 0) {
        if (!this.pumpTimer) {
          this.pumpTimer = setTimeout(() => {
            this.pumpTimer = undefined;
            this.pump();
          }, wait);
          this.pumpTimer.unref();
        }
        return;
      }
      this.queue.shift();
      const payload = fact.build();
      if (payload === null || payload === undefined) {
        fact.resolve({ status: 'dropped', kind: fact.kind, reason: 'superseded' });
        continue;
      }
      const f = this.publishNew(fact.kind, payload, 'serial', { fact });
      if (!f) {
        fact.resolve({ status: 'dropped', kind: fact.kind, reason: 'could not be sent' });
        continue;
      }
      this.serialInFlight = f;
    }
    if (!this.serialInFlight && this.queue.length === 0) this.notifyIdle();
  }

  private sendBirth(): void {
    // Whatever vm-state was waiting is restated by this birth.
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i].kind === 'vm-state') {
        this.queue
          .splice(i, 1)[0]
          .resolve({ status: 'dropped', kind: 'vm-state', reason: 'restated by the birth' });
      }
    }
    this.publishNew('birth', this.birthPayload(), 'birth');
  }

  birthPayload(): Payload<'birth'> {
    const s = this.spec;
    return {
      agent: { version: s.agentVersion },
      board: s.board,
      hypervisor: {
        version: this.hypervisorVersion,
        scenario: s.hypervisor.scenario,
        binary: s.hypervisor.binary,
        plan: this.hypervisorPlan,
      },
      serviceVm: {
        name: s.serviceVm.name,
        osImageVersion: this.serviceVmImage,
        kernelVersion: s.serviceVm.kernelVersion,
        state: 'running',
        bootId: this.bootId,
      },
      vms: [...this.vms.values()].map((vm) => ({
        name: vm.spec.name,
        vmType: vm.spec.vmType,
        loadOrder: vm.spec.loadOrder,
        state: vm.state,
        pcpus: vm.spec.pcpus,
        imageVersion: vm.imageVersion,
      })),
      desiredVersion: this.desiredApplied,
    };
  }

  // ---------------------------------------------------------------------------------------- receiving

  private onMessage(generation: number, topic: string, payload: Buffer): void {
    if (generation !== this.generation) return;
    const decoded = decodeBackendMessage(topic, payload, { deviceId: this.deviceId });
    if (!decoded.ok) {
      if (decoded.command && decoded.commandId) {
        // A command it cannot read: answered failed when its name and id are readable.
        const { command, commandId } = decoded;
        this.whenOnline(() =>
          this.ack(commandId, command, 'failed', {
            code: 'SCHEMA_INVALID',
            message: decoded.message.slice(0, 1024),
          }),
        );
      } else {
        this.ctx.emit('error', {
          deviceId: this.deviceId,
          error: new Error(`unreadable message on ${topic}: ${decoded.code} ${decoded.message}`),
        });
      }
      return;
    }
    if (decoded.kind === 'reply') {
      this.onReply(decoded.message);
      return;
    }
    if (!this.registered) {
      // Commands and desired state are handled once the birth is accepted.
      this.backlog.push({ topic, payload });
      return;
    }
    if (decoded.kind === 'desired') this.onDesired(decoded.message);
    else this.onCommand(decoded.command, decoded.message);
  }

  private whenOnline(action: () => void): void {
    if (this.registered) action();
    else this.onlineWaiters.push({ ok: action, fail: () => undefined });
  }

  private onReply(reply: Reply): void {
    const f = reply.inReplyTo === null ? undefined : this.pending.get(reply.inReplyTo);
    if (!f) {
      this.stats.unmatchedReplies++;
      this.ctx.emit('unmatched-reply', { deviceId: this.deviceId, reply });
      return;
    }
    if (f.timer) clearTimeout(f.timer);
    this.pending.delete(f.msgId);
    this.stats.pending--;
    const latencyMs = performance.now() - f.firstSentAt;
    this.stats.recordReply(reply.status, { code: reply.code, duplicate: reply.duplicate, latencyMs });
    const event: ReplyEvent = {
      deviceId: this.deviceId,
      kind: f.kind,
      msgId: f.msgId,
      epoch: f.epoch,
      seq: f.seq,
      reply,
      latencyMs,
      attempts: f.attempts,
    };
    this.ctx.emit('reply', event);
    const outcome: MessageOutcome = {
      status: reply.status,
      kind: f.kind,
      msgId: f.msgId,
      epoch: f.epoch,
      seq: f.seq,
      reply,
      latencyMs,
      attempts: f.attempts,
      ...(reply.code ? { code: reply.code } : {}),
    };
    const retryable = reply.status === 'rejected' && Reply.isRetryable(reply);
    switch (f.lane) {
      case 'birth':
        this.onBirthReply(f, reply);
        return;
      case 'serial': {
        this.serialInFlight = undefined;
        const fact = f.fact!;
        if (retryable && fact.retries < this.options.maxRetries) {
          // Nothing was applied: the current fact again, as a new message (new msgId, next seq).
          fact.retries++;
          this.stats.retried++;
          fact.notBefore = Date.now() + this.retryDelayMs(reply, fact.retries);
          this.queue.unshift(fact);
          if (reply.code === 'NOT_REGISTERED') return this.rebirth(f);
        } else {
          fact.resolve(outcome);
        }
        this.pump();
        return;
      }
      case 'telemetry':
        this.telemetryInFlight--;
        if (retryable && f.samples) {
          this.stats.retried++;
          this.bufferSamples(f.samples, true);
          this.droppedSamples += f.droppedSamples ?? 0;
          if (reply.code === 'NOT_REGISTERED') return this.rebirth(f);
          const delay = this.retryDelayMs(reply, 1);
          const t = setTimeout(() => {
            this.timers.delete(t);
            this.flushTelemetry();
          }, delay);
          t.unref();
          this.timers.add(t);
        } else {
          this.flushTelemetry();
        }
        return;
      case 'raw':
        f.resolveRaw?.(outcome);
    }
  }

  /**
   * NOT_REGISTERED after an accepted birth: the gateway has no birth for this epoch (it lost it). The
   * fact goes again after the birth of a new epoch, which needs a new CONNECT (the will carries the epoch).
   */
  private rebirth(f: InFlight): void {
    if (f.generation !== this.generation || !this.client) return;
    this.dropConnection(this.options.reconnectDelayMs);
  }

  private retryDelayMs(reply: Reply, attempt: number): number {
    const after = reply.details?.['retryAfterMs'];
    if (reply.code === 'RATE_LIMITED' && typeof after === 'number' && after >= 0) return after;
    return Math.min(10_000, 250 * 2 ** (attempt - 1));
  }

  private onBirthReply(f: InFlight, reply: Reply): void {
    if (reply.status === 'accepted') {
      this.birthRetries = 0;
      this.everOnline = true;
      this.phaseValue = 'online';
      this.stats.birthsAccepted++;
      if (!this.countedOnline) {
        this.countedOnline = true;
        this.stats.devicesOnline++;
      }
      // 5. status online first, then what waited for this epoch (after a reboot: cmd-acks and
      // activations), then whatever was still queued. Arranged before the lane opens.
      this.queue.unshift(...this.afterBoot.splice(0));
      void this.sendFact('status', () => ({ state: 'online', reason: 'connected' }), {
        front: true,
        survivesReconnect: false,
      });
      this.registered = true;
      this.ctx.emit('online', { deviceId: this.deviceId, epoch: this.epochCounter });
      for (const w of this.onlineWaiters.splice(0)) w.ok();
      this.startBehaviours();
      this.pump();
      this.flushTelemetry();
      const backlog = this.backlog.splice(0);
      for (const m of backlog) this.onMessage(this.generation, m.topic, m.payload);
      this.reconcile();
      return;
    }
    this.ctx.emit('birth-rejected', { deviceId: this.deviceId, epoch: f.epoch, reply });
    const current = reply.details?.['currentEpoch'];
    if (reply.code === 'STALE_SEQUENCE' && typeof current === 'number') {
      // Lost counter (a re-flashed Service VM): continue above the backend's epoch, with a new CONNECT,
      // because the will registered at this CONNECT carries the old epoch.
      this.epochCounter = Math.max(this.epochCounter, current);
      this.dropConnection(0);
      return;
    }
    if (Reply.isRetryable(reply) && this.birthRetries < this.options.maxRetries) {
      this.birthRetries++;
      this.stats.retried++;
      const t = setTimeout(
        () => {
          this.timers.delete(t);
          if (f.generation === this.generation && this.client && !this.registered) {
            this.publishNew('birth', this.birthPayload(), 'birth');
          }
        },
        this.retryDelayMs(reply, this.birthRetries),
      );
      t.unref();
      this.timers.add(t);
      return;
    }
    // A final rejection (not provisioned, invalid inventory, …): try again later with a new epoch.
    this.dropConnection(this.backoffMs());
  }

  // ------------------------------------------------------------------------------- facts to report

  private vmStatePayload(
    vm: VmRuntime,
    previousState: AcrnctlState,
    extra: { event?: DmVmEvent; commandId?: string; rtcDeltaSeconds?: number } = {},
  ): Payload<'vm-state'> {
    return {
      vmName: vm.spec.name,
      state: vm.state,
      previousState,
      ...(extra.event ? { event: extra.event } : {}),
      ...(extra.rtcDeltaSeconds !== undefined ? { rtcDeltaSeconds: extra.rtcDeltaSeconds } : {}),
      ...(extra.commandId ? { commandId: extra.commandId } : {}),
      observedAt: new Date().toISOString(),
    };
  }

  /** Changes a VM's state and reports it (vm-state, ordered). */
  private changeVmState(
    vm: VmRuntime,
    state: AcrnctlState,
    extra: { event?: DmVmEvent; commandId?: string } = {},
  ): Promise<MessageOutcome> {
    const previousState = vm.state;
    vm.state = state;
    this.stats.vmStateChanges++;
    this.ctx.emit('vm-state', {
      deviceId: this.deviceId,
      vmName: vm.spec.name,
      state,
      previousState,
      event: extra.event,
    });
    const payload = this.vmStatePayload(vm, previousState, extra);
    return this.sendFact('vm-state', () => ({ ...payload, observedAt: payload.observedAt }));
  }

  /**
   * Reports a VM's state (tests and the gateway's suites drive devices with it). With `state`, the VM
   * changes to it first; `event` adds a Device Model event. Resolves with the reply.
   */
  sendVmState(
    vmName: string,
    state?: AcrnctlState,
    extra: {
      event?: DmVmEvent;
      previousState?: AcrnctlState;
      commandId?: string;
      rtcDeltaSeconds?: number;
    } = {},
  ): Promise<MessageOutcome> {
    const vm = this.vms.get(vmName);
    if (!vm) return Promise.reject(new Error(`${this.deviceId} has no VM ${vmName}`));
    const previousState = extra.previousState ?? vm.state;
    if (state) vm.state = state;
    const payload = this.vmStatePayload(vm, previousState, extra);
    return this.sendFact('vm-state', () => payload);
  }

  /** Sends a health message now (window: since the last one). */
  sendHealth(): Promise<MessageOutcome> {
    return this.sendFact('health', () => this.healthPayload());
  }

  /**
   * Sends a telemetry batch now: the given samples, or `count` generated ones. Telemetry is pipelined:
   * it does not wait for the ordered lane.
   */
  sendTelemetry(samples?: TelemetrySample[], count = this.options.telemetryBatch): Promise<MessageOutcome> {
    const batch = samples ?? this.generateSamples(count, this.options.telemetryIntervalMs || 10_000);
    return new Promise((resolve) => {
      if (!this.registered) {
        resolve({ status: 'dropped', kind: 'telemetry', reason: 'not online' });
        return;
      }
      const f = this.publishNew('telemetry', { samples: batch, droppedSamples: 0 }, 'raw', {
        resolveRaw: resolve,
      });
      if (!f) resolve({ status: 'dropped', kind: 'telemetry', reason: 'could not be sent' });
    });
  }

  /**
   * Publishes any message outside the protocol machinery (no sequencing, no retries): for tests that
   * need a specific seq, an old epoch or an invalid payload. `message` is sent as JSON as it is (or a
   * Buffer as bytes). Resolves with the reply if the message has a readable msgId, else when published.
   */
  sendRaw(
    kind: DeviceMessageKind,
    message: Record<string, unknown> | Buffer,
    options: { topic?: string; retain?: boolean } = {},
  ): Promise<MessageOutcome> {
    const client = this.client;
    if (!client) return Promise.resolve({ status: 'dropped', kind, reason: 'not connected' });
    const payload = Buffer.isBuffer(message) ? message : Buffer.from(JSON.stringify(message), 'utf8');
    const out: OutboundMessage = {
      topic: options.topic ?? deviceTopic(this.deviceId, kind),
      payload,
      qos: 1,
      retain: options.retain ?? false,
    };
    const msgId =
      !Buffer.isBuffer(message) && typeof message['msgId'] === 'string' ? message['msgId'] : undefined;
    return new Promise((resolve) => {
      if (!msgId) {
        client.publish(out.topic, out.payload, { qos: 1, retain: out.retain }, () =>
          resolve({ status: 'dropped', kind, reason: 'published without a msgId: no reply to match' }),
        );
        this.stats.recordSent(kind);
        return;
      }
      const f: InFlight = {
        msgId,
        kind,
        epoch: Number(!Buffer.isBuffer(message) ? message['epoch'] : 0) || 0,
        seq: Number(!Buffer.isBuffer(message) ? message['seq'] : 0) || 0,
        out,
        firstSentAt: performance.now(),
        attempts: 0,
        generation: this.generation,
        lane: 'raw',
        resolveRaw: resolve,
      };
      this.pending.set(msgId, f);
      this.stats.pending++;
      this.transmit(f);
    });
  }

  /** The next sequence number this device would use (for building raw messages). */
  nextSeq(): number {
    return ++this.seqCounter;
  }

  private healthPayload(): Payload<'health'> {
    const end = new Date();
    const start = this.healthWindowStart;
    this.healthWindowStart = end;
    const seconds = Math.max(1, Math.round((end.getTime() - start.getTime()) / 1000));
    const rtVms = [...this.vms.values()]
      .filter((vm) => vm.spec.vmType === 'RTVM' && (vm.state === 'started' || vm.state === 'untracked'))
      .map((vm) => ({
        vmName: vm.spec.name,
        ...latencyWindow(this.rng, vm.spec.baseLatency!, this.latencyFactor(vm), seconds * 1000),
      }));
    const faults = [...this.faultsInWindow];
    this.faultsInWindow.clear();
    const dmProcesses = [...this.vms.values()].filter(
      (vm) => vm.spec.loadOrder === 'POST_LAUNCHED_VM' && vm.state === 'started',
    ).length;
    const total = this.spec.board.memory.totalBytes;
    const load1 = Math.round(this.rng.range(0.2, 1.5) * 100) / 100;
    return {
      windowStart: start.toISOString(),
      windowEnd: end.toISOString(),
      rtVms,
      serviceVm: {
        load1,
        load5: Math.round(load1 * this.rng.range(0.8, 1.1) * 100) / 100,
        load15: Math.round(load1 * this.rng.range(0.7, 1.0) * 100) / 100,
        cpuPercent: Math.round(this.rng.range(5, 40) * 10) / 10,
        memoryUsedBytes: Math.floor(Math.min(total, 4 * 2 ** 30) * this.rng.range(0.2, 0.6)),
        memoryTotalBytes: Math.min(total, 4 * 2 ** 30),
      },
      deviceModel: {
        status: faults.length > 0 ? 'degraded' : 'ok',
        acrnDmProcesses: dmProcesses,
        unresponsiveVms: [],
        ...(faults.length > 0 ? { message: `triple fault in ${faults.join(', ')} during the window` } : {}),
      },
    };
  }

  private latencyFactor(vm: VmRuntime): number {
    return vm.latencyFactor * this.platformLatencyFactor;
  }

  private generateSamples(count: number, spanMs: number): TelemetrySample[] {
    const vms = [
      { name: this.spec.serviceVm.name, rt: undefined as VmRuntime | undefined, memory: 2 * 2 ** 30 },
      ...[...this.vms.values()]
        .filter((vm) => vm.state === 'started' || vm.state === 'untracked')
        .map((vm) => ({
          name: vm.spec.name,
          rt: vm.spec.vmType === 'RTVM' ? vm : undefined,
          memory: vm.spec.memoryMb * 2 ** 20,
        })),
    ];
    const now = Date.now();
    const samples: TelemetrySample[] = [];
    for (let i = 0; i < count; i++) {
      const vm = vms[i % vms.length];
      const at = new Date(now - spanMs + Math.floor(((i + 1) * spanMs) / count)).toISOString();
      const sample: TelemetrySample = {
        at,
        vmName: vm.name,
        cpuPercent: Math.round(this.rng.range(vm.rt ? 40 : 5, vm.rt ? 90 : 45) * 10) / 10,
        memoryUsedBytes: Math.floor(vm.memory * this.rng.range(0.3, 0.8)),
      };
      if (vm.rt)
        sample.rtLatencyUs = latencySample(this.rng, vm.rt.spec.baseLatency!, this.latencyFactor(vm.rt));
      samples.push(sample);
    }
    return samples;
  }

  private bufferSamples(samples: TelemetrySample[], front = false): void {
    this.telemetryBuffer = front
      ? [...samples, ...this.telemetryBuffer]
      : [...this.telemetryBuffer, ...samples];
    const excess = this.telemetryBuffer.length - TELEMETRY_BUFFER_LIMIT;
    if (excess > 0) {
      // The offline buffer is full: the oldest go, and the next batch says how many.
      this.telemetryBuffer.splice(0, excess);
      this.droppedSamples += excess;
    }
  }

  private flushTelemetry(): void {
    while (
      this.registered &&
      this.client &&
      this.telemetryBuffer.length > 0 &&
      this.telemetryInFlight < this.options.maxTelemetryInFlight
    ) {
      const samples = this.telemetryBuffer.splice(
        0,
        Math.min(TELEMETRY_SAMPLES_PER_MESSAGE, MAX_TELEMETRY_SAMPLES),
      );
      const droppedSamples = this.droppedSamples;
      this.droppedSamples = 0;
      const f = this.publishNew('telemetry', { samples, droppedSamples }, 'telemetry', {
        samples,
        droppedSamples,
      });
      if (!f) return;
      this.telemetryInFlight++;
    }
  }

  // --------------------------------------------------------------------------------------- behaviour

  private every(intervalMs: number, action: () => void): void {
    if (!(intervalMs > 0)) return;
    // Spread the first tick so that a fleet does not act in lockstep.
    const first = setTimeout(
      () => {
        this.timers.delete(first);
        action();
        const t = setInterval(action, intervalMs);
        t.unref();
        this.timers.add(t);
      },
      this.rng.range(0, intervalMs),
    );
    first.unref();
    this.timers.add(first);
  }

  /** Schedules `action` at the times of a Poisson process (probability `p` per minute). */
  private poisson(p: number, action: () => void): void {
    const delay = nextEventDelayMs(this.rng, p, 60_000);
    if (delay === undefined) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      action();
      this.poisson(p, action);
    }, delay);
    t.unref();
    this.timers.add(t);
  }

  private startBehaviours(): void {
    if (this.behavioursStarted) return;
    this.behavioursStarted = true;
    const o = this.options;
    this.healthWindowStart = new Date();
    this.every(o.healthIntervalMs, () => {
      if (this.registered && !this.queue.some((f) => f.kind === 'health')) void this.sendHealth();
    });
    this.every(o.telemetryIntervalMs, () => {
      this.bufferSamples(this.generateSamples(o.telemetryBatch, o.telemetryIntervalMs));
      this.flushTelemetry();
    });
    this.poisson(o.reconnectProb, () => {
      if (this.registered) this.disconnectAbruptly();
    });
    for (const vm of this.vms.values()) {
      if (vm.spec.loadOrder !== 'POST_LAUNCHED_VM') continue;
      this.poisson(o.vmChurnProb, () => {
        if (!this.registered || vm.busy) return;
        if (vm.state === 'started') void this.changeVmState(vm, 'stopped', { event: 'VM_EVENT_POWEROFF' });
        else if (vm.state === 'stopped') void this.changeVmState(vm, 'started');
      });
      if (vm.spec.vmType === 'RTVM') this.poisson(o.tripleFaultProb, () => this.tripleFault(vm));
    }
  }

  private stopBehaviours(): void {
    for (const t of this.timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.timers.clear();
    this.behavioursStarted = false;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
  }

  /** The Device Model reports a triple fault; the Service VM's watchdog starts the VM again later. */
  tripleFault(vmOrName: VmRuntime | string): void {
    const vm = typeof vmOrName === 'string' ? this.vms.get(vmOrName) : vmOrName;
    if (!vm) throw new Error(`${this.deviceId} has no VM ${String(vmOrName)}`);
    if (!this.registered || vm.busy || vm.state !== 'started') return;
    this.stats.tripleFaults++;
    this.faultsInWindow.add(vm.spec.name);
    void this.changeVmState(vm, 'stopped', { event: 'VM_EVENT_TRIPLE_FAULT' });
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (vm.state === 'stopped' && !vm.busy && this.phaseValue !== 'stopping')
        void this.changeVmState(vm, 'started');
    }, this.options.faultRestartMs);
    t.unref();
    this.timers.add(t);
  }

  // ---------------------------------------------------------------------------------------- commands

  private ack(
    commandId: string,
    command: CommandName,
    outcome: 'accepted' | 'done' | 'failed',
    error?: { code: string; message: string },
    options: { afterBoot?: boolean } = {},
  ): Promise<MessageOutcome> | undefined {
    this.commands.set(commandId, { command, outcome, ...(error ? { error } : {}) });
    if (this.commands.size > 5000) this.commands.delete(this.commands.keys().next().value!);
    const payload = { commandId, command, outcome, ...(error ? { error } : {}) };
    if (options.afterBoot) {
      // Persisted with the pending command; sent after the birth of the next epoch.
      this.deferToBoot('cmd-ack', payload);
      return undefined;
    }
    return this.sendFact('cmd-ack', () => payload);
  }

  private onCommand<K extends CommandName>(
    command: K,
    message: { commandId: string; expiresAt: string; args: Record<string, unknown> },
  ): void {
    const { commandId } = message;
    this.stats.commandsReceived++;
    this.ctx.emit('command', { deviceId: this.deviceId, command, commandId });
    const seen = this.commands.get(commandId);
    if (seen) {
      // A redelivery: its latest cmd-ack again, as a new message.
      void this.ack(commandId, seen.command, seen.outcome, seen.error);
      return;
    }
    if (Date.parse(message.expiresAt) <= Date.now()) {
      void this.ack(commandId, command, 'failed', errorInfo('COMMAND_EXPIRED'));
      return;
    }
    const args = message.args;
    const fate = drawCommandFate(this.rng, this.options);
    if (fate === 'silent') return; // lost in the agent: the backend times it out
    if (fate === 'fail') {
      void this.failAfterAccepting(command, commandId, args);
      return;
    }
    switch (command) {
      case 'start-vm':
      case 'stop-vm':
      case 'restart-vm':
        void this.vmCommand(command, commandId, String(args['vmName']), Boolean(args['force']));
        return;
      case 'delete-vm':
        void this.deleteVm(commandId, String(args['vmName']));
        return;
      case 'shutdown':
        void this.ack(commandId, 'shutdown', 'accepted');
        this.ack(commandId, 'shutdown', 'done', undefined, { afterBoot: true });
        void this.powerOff();
        return;
      case 'apply-plan':
        void this.applyPlan(commandId, args as never);
        return;
      case 'reboot':
        void this.ack(commandId, 'reboot', 'accepted');
        this.ack(commandId, 'reboot', 'done', undefined, { afterBoot: true });
        void this.reboot();
        return;
      default:
        void this.ack(commandId, command, 'failed', errorInfo('UNSUPPORTED_COMMAND'));
    }
  }

  /** commandFailureRate: accepted, then failed the way a real agent reports it. */
  private async failAfterAccepting(
    command: CommandName,
    commandId: string,
    args: Record<string, unknown>,
  ): Promise<void> {
    void this.ack(commandId, command, 'accepted');
    await sleep(this.options.commandDelayMs);
    void this.ack(commandId, command, 'failed', simulatedFailure(command, args));
  }

  /** `acrnctl del`: the VM's configuration is gone; the next birth no longer lists it. */
  private async deleteVm(commandId: string, vmName: string): Promise<void> {
    const vm = this.vms.get(vmName);
    const refusal = deleteVmRefusal(vm, vmName);
    if (refusal || !vm) {
      await this.ack(commandId, 'delete-vm', 'failed', refusal ?? errorInfo('VM_NOT_FOUND'));
      return;
    }
    // Busy for good: churn and faults scheduled for it leave it alone.
    vm.busy = true;
    void this.ack(commandId, 'delete-vm', 'accepted');
    await sleep(this.options.commandDelayMs);
    this.vms.delete(vmName);
    void this.ack(commandId, 'delete-vm', 'done');
  }

  /**
   * Platform power-off (shutdown command): goodbye like a reboot, off for shutdownOffMs (0: stays
   * off), then a power-on: a new boot id and epoch, and the shutdown's done after that birth.
   */
  async powerOff(): Promise<void> {
    if (this.phaseValue === 'rebooting' || this.phaseValue === 'stopping' || this.phaseValue === 'stopped')
      return;
    this.stopBehaviours();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.goodbye(this.options.drainTimeoutMs, 'reboot');
    if (this.suppressReconnect) return;
    this.phaseValue = 'offline';
    if (this.options.shutdownOffMs === 0) return;
    await sleep(this.options.shutdownOffMs);
    if (this.suppressReconnect || this.phaseValue !== 'offline') return;
    this.boot();
    await this.connectNow();
  }

  private async vmCommand(
    command: 'start-vm' | 'stop-vm' | 'restart-vm',
    commandId: string,
    vmName: string,
    force: boolean,
  ): Promise<void> {
    const vm = this.vms.get(vmName);
    if (!vm) {
      await this.ack(commandId, command, 'failed', errorInfo('VM_NOT_FOUND', `(${vmName})`));
      return;
    }
    if (vm.spec.loadOrder === 'PRE_LAUNCHED_VM') {
      await this.ack(commandId, command, 'failed', {
        code: 'VM_STATE_CONFLICT',
        message: `${vmName} is pre-launched: acrnctl does not manage it (state untracked).`,
      });
      return;
    }
    const allowed =
      command === 'start-vm' ? vm.state === 'stopped' : vm.state === 'started' || vm.state === 'suspended';
    if (!allowed || vm.busy) {
      await this.ack(commandId, command, 'failed', {
        code: 'VM_STATE_CONFLICT',
        message: `${AGENT_ERROR_CODES.VM_STATE_CONFLICT} ${vmName} is ${vm.busy ? 'busy' : vm.state}.`,
      });
      return;
    }
    // The Device Model stops an RTVM only gracefully (the guest powers off); a forced stop is a destroy,
    // which it refuses for a post-launched RTVM (devicemodel/core/cmd_monitor/command_handler.c).
    if (command === 'stop-vm' && vm.spec.vmType === 'RTVM' && force) {
      await this.ack(commandId, command, 'failed', errorInfo('FORCE_STOP_UNSUPPORTED'));
      return;
    }
    vm.busy = true;
    try {
      void this.ack(commandId, command, 'accepted');
      await sleep(this.options.commandDelayMs);
      if (command === 'start-vm') void this.changeVmState(vm, 'started', { commandId });
      else if (command === 'stop-vm')
        void this.changeVmState(vm, 'stopped', { commandId, event: 'VM_EVENT_POWEROFF' });
      else {
        void this.changeVmState(vm, 'stopped', { commandId });
        await sleep(this.options.commandDelayMs);
        void this.changeVmState(vm, 'started', { commandId });
      }
    } finally {
      vm.busy = false;
    }
    void this.ack(commandId, command, 'done');
  }

  private async applyPlan(
    commandId: string,
    args: { plan: { planId: string; revision: number }; hypervisor: { version: string }; reboot?: boolean },
  ): Promise<void> {
    void this.ack(commandId, 'apply-plan', 'accepted');
    const behaviour = this.takeUpdateBehaviour(true);
    await sleep(this.options.updateStageMs);
    if (behaviour.failAt && behaviour.failAt !== 'boot') {
      void this.ack(commandId, 'apply-plan', 'failed', errorInfo(this.failureCode(behaviour.failAt)));
      return;
    }
    const job: UpdateJob = {
      key: `apply-plan:${commandId}`,
      desiredVersion: this.desiredApplied || 1,
      rolloutId: `cmd-${commandId}`.slice(0, 128),
      target: { kind: 'hypervisor', version: args.hypervisor.version },
      fromVersion: this.hypervisorVersion,
      reboots: true,
    };
    // Installed; it runs from the next boot on, which reports the outcome after its birth.
    this.pendingActivations.push({
      job,
      bootFails: behaviour.failAt === 'boot',
      regress: Boolean(behaviour.regressLatency),
      plan: args.plan,
      commandId: args.reboot === false ? undefined : commandId,
    });
    if (args.reboot === false) {
      void this.ack(commandId, 'apply-plan', 'done');
      return;
    }
    await this.reboot();
  }

  /** Platform reboot: goodbye (status offline, DISCONNECT), down for rebootDelayMs, a new boot id and epoch. */
  async reboot(): Promise<void> {
    if (this.phaseValue === 'rebooting' || this.phaseValue === 'stopping' || this.phaseValue === 'stopped')
      return;
    this.stats.reboots++;
    this.stopBehaviours();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.goodbye(this.options.drainTimeoutMs, 'reboot');
    if (this.suppressReconnect) return;
    this.phaseValue = 'rebooting';
    await sleep(this.options.rebootDelayMs);
    if (this.suppressReconnect) return;
    this.boot();
    await this.connectNow();
  }

  /**
   * A boot: what was installed before the reboot runs now (or GRUB fell back to the last good binary),
   * so the birth already shows it; the outcome is reported after that birth.
   */
  private boot(): void {
    this.bootId = randomUUID();
    for (const vm of this.vms.values()) {
      vm.busy = false;
      vm.state = vm.spec.loadOrder === 'PRE_LAUNCHED_VM' ? 'untracked' : 'started';
    }
    for (const p of this.pendingActivations.splice(0)) {
      const { job } = p;
      if (p.bootFails) {
        const error = errorInfo('BOOT_FAILED');
        if (p.commandId) this.ack(p.commandId, 'apply-plan', 'failed', error, { afterBoot: true });
        else this.progress(job, 'rolled-back', { error, afterBoot: true });
        this.stats.updatesFailed++;
        this.failedJobs.add(job.key);
        continue;
      }
      this.install(job, p.plan);
      if (p.regress) this.regress(job);
      else this.unregress(job);
      if (p.commandId) this.ack(p.commandId, 'apply-plan', 'done', undefined, { afterBoot: true });
      else this.progress(job, 'activated', { afterBoot: true });
      this.stats.updatesActivated++;
    }
  }

  private install(job: UpdateJob, plan?: { planId: string; revision: number }): void {
    switch (job.target.kind) {
      case 'hypervisor':
        this.hypervisorVersion = job.target.version;
        if (plan) this.hypervisorPlan = plan;
        return;
      case 'service-vm-image':
        this.serviceVmImage = job.target.version;
        return;
      case 'rtvm-image':
        if (job.vm) job.vm.imageVersion = job.target.version;
    }
  }

  private regress(job: UpdateJob): void {
    if (job.vm) job.vm.latencyFactor = this.options.latencyRegressFactor;
    else this.platformLatencyFactor = this.options.latencyRegressFactor;
  }

  private unregress(job: UpdateJob): void {
    if (job.vm) job.vm.latencyFactor = 1;
    else this.platformLatencyFactor = 1;
  }

  // ------------------------------------------------------------------------------------------ updates

  private onDesired(desired: DesiredState | null): void {
    if (desired === null) {
      // Cleared (decommissioning): no desired state; keep what runs.
      this.desired = undefined;
      this.ctx.emit('desired', { deviceId: this.deviceId, version: null });
      return;
    }
    // Only a document above the last one applied (a retained copy redelivered on reconnect is ignored).
    if (desired.version <= this.desiredApplied) return;
    this.desiredApplied = desired.version;
    this.desired = desired;
    this.ctx.emit('desired', { deviceId: this.deviceId, version: desired.version });
    this.reconcile();
  }

  /** The next component whose desired version differs from what runs. */
  private nextJob(): UpdateJob | undefined {
    const d = this.desired;
    if (!d) return undefined;
    const candidates: UpdateJob[] = [];
    for (const want of d.rtVms) {
      const vm = this.vms.get(want.vmName);
      const key = `${d.version}:rtvm:${want.vmName}:${want.imageVersion}`;
      if (this.failedJobs.has(key)) continue;
      if (vm && vm.imageVersion === want.imageVersion) continue;
      candidates.push({
        key,
        desiredVersion: d.version,
        rolloutId: want.rolloutId,
        target: { kind: 'rtvm-image', vmName: want.vmName, version: want.imageVersion },
        fromVersion: vm?.imageVersion ?? null,
        reboots: vm?.spec.loadOrder === 'PRE_LAUNCHED_VM',
        ...(vm ? { vm } : {}),
      });
    }
    if (d.serviceVm && d.serviceVm.osImageVersion !== this.serviceVmImage) {
      candidates.push({
        key: `${d.version}:service-vm:${d.serviceVm.osImageVersion}`,
        desiredVersion: d.version,
        rolloutId: d.serviceVm.rolloutId,
        target: { kind: 'service-vm-image', version: d.serviceVm.osImageVersion },
        fromVersion: this.serviceVmImage,
        reboots: true,
      });
    }
    if (d.hypervisor && d.hypervisor.version !== this.hypervisorVersion) {
      candidates.push({
        key: `${d.version}:hypervisor:${d.hypervisor.version}`,
        desiredVersion: d.version,
        rolloutId: d.hypervisor.rolloutId,
        target: { kind: 'hypervisor', version: d.hypervisor.version },
        fromVersion: this.hypervisorVersion,
        reboots: true,
      });
    }
    const plan = d.plan;
    const planChanged =
      plan &&
      (plan.planId !== this.hypervisorPlan?.planId || plan.revision !== this.hypervisorPlan?.revision);
    if (plan && planChanged && !d.hypervisor) {
      // An operator's plan assignment alone (no release yet names the binary): the simulator acts as
      // if the hypervisor built from that plan were at hand, so the plan is reported once it runs.
      const base = this.hypervisorVersion.split('+')[0];
      candidates.push({
        key: `${d.version}:plan:${plan.planId}:${plan.revision}`,
        desiredVersion: d.version,
        rolloutId: PLAN_ASSIGNMENT_ROLLOUT,
        target: { kind: 'hypervisor', version: `${base}+plan.${plan.planId}.${plan.revision}` },
        fromVersion: this.hypervisorVersion,
        reboots: true,
      });
    }
    return candidates.find((c) => !this.failedJobs.has(c.key));
  }

  /** Level-triggered: works towards the desired document, one component at a time. */
  private reconcile(): void {
    if (this.updating || !this.registered) return;
    this.updating = true;
    void (async () => {
      try {
        for (;;) {
          if (this.phaseValue === 'stopping' || this.phaseValue === 'stopped') return;
          if (!this.registered) await this.waitOnline(10 * 60_000).catch(() => undefined);
          if (!this.registered) return;
          const job = this.nextJob();
          if (!job) return;
          await this.runUpdate(job);
        }
      } catch (e) {
        this.ctx.emit('error', {
          deviceId: this.deviceId,
          error: e instanceof Error ? e : new Error(String(e)),
        });
      } finally {
        this.updating = false;
      }
    })();
  }

  private progress(
    job: UpdateJob,
    stage: UpdateStage,
    extra: { percent?: number; error?: { code: string; message: string }; afterBoot?: boolean } = {},
  ): Promise<MessageOutcome> | undefined {
    this.ctx.emit('update', {
      deviceId: this.deviceId,
      rolloutId: job.rolloutId,
      target: job.target,
      stage,
      ...(extra.error ? { error: extra.error } : {}),
    });
    const payload: Payload<'update-progress'> = {
      rolloutId: job.rolloutId,
      desiredVersion: job.desiredVersion,
      target: job.target,
      fromVersion: job.fromVersion,
      stage,
      ...(extra.percent !== undefined ? { percent: extra.percent } : {}),
      ...(extra.error ? { error: extra.error } : {}),
    };
    if (extra.afterBoot) {
      this.deferToBoot('update-progress', payload);
      return undefined;
    }
    return this.sendFact('update-progress', () => payload);
  }

  /** A fact persisted across the reboot and sent after the next birth. */
  private deferToBoot(kind: 'cmd-ack' | 'update-progress', payload: unknown): void {
    this.afterBoot.push({
      kind,
      build: () => payload,
      resolve: () => undefined,
      retries: 0,
      survivesReconnect: true,
    });
  }

  private takeUpdateBehaviour(reboots: boolean): UpdateBehaviour {
    if (this.nextUpdateBehaviour) {
      const b = this.nextUpdateBehaviour;
      this.nextUpdateBehaviour = undefined;
      return b;
    }
    const o = this.options;
    const stages: UpdateBehaviour['failAt'][] = ['downloading', 'verifying', 'installing'];
    if (reboots) stages.push('boot');
    return {
      ...(this.rng.chance(o.updateFailProb) ? { failAt: this.rng.pick(stages) } : {}),
      regressLatency: this.rng.chance(o.latencyRegressProb),
    };
  }

  private failureCode(stage: NonNullable<UpdateBehaviour['failAt']>): AgentErrorCode {
    return stage === 'downloading'
      ? 'DOWNLOAD_FAILED'
      : stage === 'verifying'
        ? 'VERIFICATION_FAILED'
        : stage === 'installing'
          ? 'INSTALL_FAILED'
          : 'BOOT_FAILED';
  }

  /** The desired document changed this component after the job started: stop at the safe point. */
  private superseded(job: UpdateJob): boolean {
    const d = this.desired;
    if (!d || d.version === job.desiredVersion) return false;
    switch (job.target.kind) {
      case 'hypervisor':
        return d.hypervisor?.version !== job.target.version;
      case 'service-vm-image':
        return d.serviceVm?.osImageVersion !== job.target.version;
      case 'rtvm-image': {
        const vmName = job.target.vmName;
        return d.rtVms.find((v) => v.vmName === vmName)?.imageVersion !== job.target.version;
      }
    }
  }

  private async fail(job: UpdateJob, code: AgentErrorCode, detail?: string): Promise<void> {
    this.failedJobs.add(job.key);
    this.stats.updatesFailed++;
    void this.progress(job, 'failed', { error: errorInfo(code, detail) });
  }

  private async runUpdate(job: UpdateJob): Promise<void> {
    this.stats.updatesStarted++;
    if (job.target.kind === 'rtvm-image' && !job.vm) {
      await this.fail(job, 'VM_NOT_FOUND', `(${job.target.vmName})`);
      return;
    }
    const behaviour = this.takeUpdateBehaviour(job.reboots);
    const stage = this.options.updateStageMs;
    void this.progress(job, 'downloading', { percent: 0 });
    await sleep(stage);
    if (behaviour.failAt === 'downloading') return this.fail(job, 'DOWNLOAD_FAILED');
    void this.progress(job, 'downloading', { percent: 100 });
    void this.progress(job, 'verifying');
    await sleep(stage);
    if (behaviour.failAt === 'verifying') return this.fail(job, 'VERIFICATION_FAILED');
    // The safe point: a newer document that changed this component stops the update here.
    if (this.superseded(job)) return this.fail(job, 'SUPERSEDED');
    void this.progress(job, 'installing', { percent: 0 });
    const vm = job.vm;
    if (vm && !job.reboots) {
      // An RT VM image is replaced while the VM is stopped.
      vm.busy = true;
      try {
        const wasRunning = vm.state === 'started' || vm.state === 'suspended';
        if (wasRunning) void this.changeVmState(vm, 'stopped', { event: 'VM_EVENT_POWEROFF' });
        await sleep(stage);
        if (behaviour.failAt === 'installing') {
          if (wasRunning) void this.changeVmState(vm, 'started');
          return this.fail(job, 'INSTALL_FAILED');
        }
        void this.progress(job, 'installing', { percent: 100 });
        void this.progress(job, 'rebooting');
        this.install(job);
        if (wasRunning) void this.changeVmState(vm, 'started');
        await sleep(stage / 2);
        if (behaviour.regressLatency) this.regress(job);
        else this.unregress(job);
        this.stats.updatesActivated++;
        void this.progress(job, 'activated');
      } finally {
        vm.busy = false;
      }
      return;
    }
    await sleep(stage);
    if (behaviour.failAt === 'installing') return this.fail(job, 'INSTALL_FAILED');
    void this.progress(job, 'installing', { percent: 100 });
    void this.progress(job, 'rebooting');
    // Activated (or rolled back) is reported after the birth of the next epoch.
    this.pendingActivations.push({
      job,
      bootFails: behaviour.failAt === 'boot',
      regress: Boolean(behaviour.regressLatency),
      ...(job.target.kind === 'hypervisor' && this.desired?.plan ? { plan: this.desired.plan } : {}),
    });
    await this.reboot();
    await this.waitOnline(10 * 60_000).catch(() => undefined);
  }
}
