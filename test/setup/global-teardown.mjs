export default async () => {
  const pg = globalThis.__HF_EMBEDDED_PG__;
  if (pg) await pg.stop();
};
