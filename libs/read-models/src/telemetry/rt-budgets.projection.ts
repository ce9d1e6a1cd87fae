import type { ProjectedEvent, Projection } from '../framework/projection';

/**
 * What the latency SLO needs from the domain: each RT VM's latency budget over time (a minute is
 * judged by the budget it had then), and each device's class and site (the SLO view's filters).
 */
export const telemetryRtBudgetsProjection: Projection = {
  name: 'telemetry-rt-budgets',
  tables: ['telemetry_rt_budgets', 'telemetry_device_labels'],
  handles: ['RtVmRegistered', 'RtVmLatencyBudgetChanged', 'DeviceProvisioned', 'DeviceLabelsUpdated'],
  async apply(events, sql, ctx) {
    const budgets: { deviceId: string; vmName: string; at: string; budgetUs: number }[] = [];
    for (const e of events) {
      const d = e.data;
      if (e.type === 'RtVmRegistered' || e.type === 'RtVmLatencyBudgetChanged') {
        const budgetUs = e.type === 'RtVmRegistered' ? d.latencyBudgetUs : d.budgetUs;
        if (typeof d.deviceId !== 'string' || typeof d.vmName !== 'string' || typeof budgetUs !== 'number')
          continue;
        budgets.push({ deviceId: d.deviceId, vmName: d.vmName, at: when(e), budgetUs });
      } else if (typeof d.deviceId === 'string' && typeof d.site === 'string') {
        // One statement per label event: a provisioning and a relabelling in one batch apply in order.
        if (e.type === 'DeviceProvisioned') {
          await sql.query(
            `INSERT INTO ${ctx.table('telemetry_device_labels')} (device_id, device_class, site) VALUES ($1, $2, $3)
             ON CONFLICT (device_id) DO UPDATE SET device_class = EXCLUDED.device_class, site = EXCLUDED.site`,
            [d.deviceId, String(d.deviceClass), d.site],
          );
        } else {
          await sql.query(
            `UPDATE ${ctx.table('telemetry_device_labels')} SET site = $2 WHERE device_id = $1`,
            [d.deviceId, d.site],
          );
        }
      }
    }
    if (budgets.length === 0) return;
    // Later events win a tie on the same instant: keep the last per key before the upsert.
    const last = new Map(budgets.map((b) => [`${b.deviceId}\u0000${b.vmName}\u0000${b.at}`, b]));
    const rows = [...last.values()];
    await sql.query(
      `INSERT INTO ${ctx.table('telemetry_rt_budgets')} (device_id, vm_name, valid_from, budget_us)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[])
       ON CONFLICT (device_id, vm_name, valid_from) DO UPDATE SET budget_us = EXCLUDED.budget_us`,
      [
        rows.map((b) => b.deviceId),
        rows.map((b) => b.vmName),
        rows.map((b) => b.at),
        rows.map((b) => b.budgetUs),
      ],
    );
  },
};

/** When the fact happened: the event's `at`, else when it was recorded. */
function when(e: ProjectedEvent): string {
  const at = e.data.at;
  return typeof at === 'string' && !Number.isNaN(Date.parse(at)) ? at : e.time;
}
