// One file per schema version (after Signal Desktop's migrations): each is
// released once and never edited; user_version records how far a data folder
// has come. Each has a data test that migrates a database holding real rows.
import type { Db } from '../db'
import { updateToSchemaVersion1 } from './0001-walking-skeleton'
import { updateToSchemaVersion2 } from './0002-host-lifecycle'
import { updateToSchemaVersion3 } from './0003-host-spec'
import { updateToSchemaVersion4 } from './0004-run-output'
import { updateToSchemaVersion5 } from './0005-install-and-netboot'
import { updateToSchemaVersion6 } from './0006-audit-chain'
import { updateToSchemaVersion7 } from './0007-secure-boot-path'
import { updateToSchemaVersion8 } from './0008-run-batches'
import { updateToSchemaVersion9 } from './0009-superseded-runs'
import { updateToSchemaVersion10 } from './0010-host-ids'
import { updateToSchemaVersion11 } from './0011-generic-installs'

export const migrations: ReadonlyArray<(db: Db) => void> = [
  updateToSchemaVersion1,
  updateToSchemaVersion2,
  updateToSchemaVersion3,
  updateToSchemaVersion4,
  updateToSchemaVersion5,
  updateToSchemaVersion6,
  updateToSchemaVersion7,
  updateToSchemaVersion8,
  updateToSchemaVersion9,
  updateToSchemaVersion10,
  updateToSchemaVersion11,
]
