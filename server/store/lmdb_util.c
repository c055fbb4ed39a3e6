#include "lmdb_util.h"

#include <errno.h>

veil_err
lmdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return VEIL_OK;
	case MDB_NOTFOUND:
		return VEIL_ERR_NOT_FOUND;
	case MDB_KEYEXIST:
		return VEIL_ERR_EXISTS;
	case MDB_MAP_FULL:
	case MDB_DBS_FULL:
	case MDB_READERS_FULL:
	case MDB_TXN_FULL:
	case MDB_CURSOR_FULL:
	case MDB_PAGE_FULL:
		return VEIL_ERR_LIMIT;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
	case MDB_BAD_VALSIZE:
		return VEIL_ERR_CORRUPT;
	case ENOMEM:
		return VEIL_ERR_NOMEM;
	default:
		return VEIL_ERR_SYSTEM;
	}
}
