/*
 * hubctl backup DIR and hubctl restore DIR (docs/OPERATIONS.md, "Backup
 * and restore"): the hot copy of the store plus its manifest, and putting
 * one back into an empty data_dir.
 */
#ifndef UG_HUBCTL_BACKUP_H
#define UG_HUBCTL_BACKUP_H

#include "common/config.h"
#include "common/keys.h"
#include "store/store.h"

/* The longest DIR and data_dir a backup or a restore takes: the file
 * names under them are built in buffers of 600 bytes. */
#define HUBCTL_BACKUP_PATH_MAX 512

/* `hubctl backup DIR`: exit 0 written, 1 failed. */
int hubctl_backup(const ug_config *cfg, store *s, ug_keys *keys,
		  const char *dir);

/* `hubctl restore DIR`, first half, before any store is opened: check the
 * manifest and copy the data files into the empty data_dir. Exit code
 * (0: go on with hubctl_restore_check on the opened store). */
int hubctl_restore_files(const ug_config *cfg, const char *dir);
/* Second half, on the restored store: it holds what the manifest says;
 * a warning when its audit trail does not verify with keys_dir's signing
 * key; the restore is recorded in the audit trail. */
int hubctl_restore_check(const ug_config *cfg, store *s, ug_keys *keys,
			 const char *dir);

#endif
