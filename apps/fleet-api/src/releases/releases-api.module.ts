import * as path from 'node:path';
import { Module } from '@nestjs/common';
import {
  ARTIFACT_STORE,
  LocalFolderArtifactStore,
  UrlSigner,
  loadOrCreateUrlSecret,
} from '@hyperfleet/artifacts';
import { RUNTIME, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { DeviceScope } from '../auth/device-scope';
import { ArtifactsController, SignedDownloadsController } from './artifacts.controller';
import { ReleasesController } from './releases.controller';
import { ReleasesService } from './releases.service';
import { ARTIFACTS_CONFIG } from './releases.tokens';
import { UptaneController } from './uptane.controller';
import { UptaneService } from './uptane.service';

/**
 * /api/v1/releases (catalogue, image uploads and downloads) and /api/v1/artifacts (downloads by sha256,
 * signed device links). Image bytes live in the artifact store, by default HF_DATA_DIR/artifacts.
 */
@Module({
  controllers: [ReleasesController, ArtifactsController, SignedDownloadsController, UptaneController],
  providers: [
    ReleasesService,
    UptaneService,
    DeviceScope,
    {
      provide: ARTIFACTS_CONFIG,
      inject: [RUNTIME],
      useFactory: (infra: RuntimeInfrastructure) => infra.config.artifacts,
    },
    {
      provide: ARTIFACT_STORE,
      inject: [RUNTIME],
      useFactory: (infra: RuntimeInfrastructure) =>
        new LocalFolderArtifactStore(path.join(infra.config.dataDir, 'artifacts')),
    },
    {
      provide: UrlSigner,
      inject: [RUNTIME],
      useFactory: (infra: RuntimeInfrastructure) =>
        new UrlSigner(loadOrCreateUrlSecret(infra.config.artifacts.urlSecret, infra.config.dataDir)),
    },
  ],
})
export class ReleasesApiModule {}
