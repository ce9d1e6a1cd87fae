// @hyperfleet/artifacts: release image bytes behind a port, and signed download links.
export * from './artifact-store';
export * from './local-folder-artifact-store';
export * from './signed-url';
export * from './uptane';
