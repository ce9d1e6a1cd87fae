import { EventEmitter } from 'node:events';
import { ConnectLimiter } from './connect-limiter';
import { deviceIdFor, generateDeviceSpec, type DeviceSpec } from './device-spec';
import { resolveFleetOptions, type FleetOptions } from './options';
import { SimDevice, type DeviceEventName, type DeviceEvents } from './sim-device';
import { FleetStats, type StatsSnapshot } from './stats';

/**
 * A fleet of simulated devices, each on its own MQTT connection:
 *
 * ```ts
 * const fleet = new Fleet({ count: 50, mqttUrl: 'mqtt://127.0.0.1:1883', seed: 7 });
 * fleet.on('reply', (e) => …);
 * await fleet.start();        // connects at connectRate per second
 * await fleet.ready();        // every birth accepted
 * await fleet.device('sim-00003').sendVmState('RT_VM0', 'stopped');
 * console.log(fleet.stats());
 * await fleet.stop();         // status offline, DISCONNECT
 * ```
 */
export class Fleet extends EventEmitter {
  readonly options: FleetOptions;
  /** The live counters (the progress display and the bench read them). */
  readonly counters: FleetStats;
  private readonly limiter: ConnectLimiter;
  private readonly byId = new Map<string, SimDevice>();
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(options: Partial<FleetOptions> = {}) {
    super();
    // Listeners are optional; an 'error' event without one must not throw.
    this.on('error', () => undefined);
    this.options = resolveFleetOptions(options);
    this.counters = new FleetStats();
    this.limiter = new ConnectLimiter(this.options.connectRate);
    const ctx = {
      options: this.options,
      stats: this.counters,
      limiter: this.limiter,
      emit: <E extends DeviceEventName>(event: E, payload: DeviceEvents[E]) => {
        if (this.listenerCount(event) > (event === 'error' ? 1 : 0)) this.emit(event, payload);
      },
    };
    for (let i = 0; i < this.options.count; i++) {
      const index = this.options.firstIndex + i;
      const id = deviceIdFor(this.options.idPrefix, index);
      this.byId.set(id, new SimDevice(generateDeviceSpec(this.options.seed, index, id), ctx));
    }
    this.counters.devicesTotal = this.byId.size;
  }

  /** Typed listeners for the devices' events (each payload carries its deviceId). */
  override on<E extends DeviceEventName>(event: E, listener: (payload: DeviceEvents[E]) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override once<E extends DeviceEventName>(event: E, listener: (payload: DeviceEvents[E]) => void): this;
  override once(event: string | symbol, listener: (...args: never[]) => void): this;
  override once(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  /** Starts every device; the CONNECTs go out at `connectRate` per second. Resolves when all are under way. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all([...this.byId.values()].map((d) => d.start()));
  }

  /** Resolves when every device is online (birth accepted); rejects after `timeoutMs`. */
  async ready(timeoutMs = 60_000): Promise<void> {
    await Promise.all([...this.byId.values()].map((d) => d.waitOnline(timeoutMs)));
  }

  /**
   * Clean shutdown of every device (drain the ordered lane, status offline, DISCONNECT). Safe to call
   * twice; the second call waits for the first.
   */
  stop(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (!this.stopping) {
      this.limiter.releaseAll();
      this.stopping = Promise.all([...this.byId.values()].map((d) => d.stop(options))).then(() => undefined);
    }
    return this.stopping;
  }

  /** Counters and reply latency percentiles, as a plain object. */
  stats(): StatsSnapshot {
    return this.counters.snapshot();
  }

  /** The device with this id (throws for an unknown id, so that a typo fails loudly). */
  device(id: string): SimDevice {
    const d = this.byId.get(id);
    if (!d) throw new Error(`no simulated device ${id} in this fleet`);
    return d;
  }

  devices(): SimDevice[] {
    return [...this.byId.values()];
  }

  deviceIds(): string[] {
    return [...this.byId.keys()];
  }

  /** What each device is (board, VMs, class, site, tags, plan), e.g. to provision them in the backend. */
  specs(): DeviceSpec[] {
    return this.devices().map((d) => d.spec);
  }
}
