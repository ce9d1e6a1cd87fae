/** The artifacts part of the configuration (ArtifactsConfig), for the release routes. */
export const ARTIFACTS_CONFIG = Symbol.for('hyperfleet.fleet-api.ArtifactsConfig');
