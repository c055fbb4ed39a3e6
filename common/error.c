#include "error.h"

const char *
veil_strerror(veil_err err)
{
	switch (err) {
	case VEIL_OK:
		return "success";
	case VEIL_ERR_ARGUMENT:
		return "invalid argument";
	case VEIL_ERR_NOMEM:
		return "out of memory";
	case VEIL_ERR_UNSUPPORTED:
		return "unsupported suite or mode";
	case VEIL_ERR_ELEMENT:
		return "invalid group element";
	case VEIL_ERR_SCALAR:
		return "scalar out of range";
	case VEIL_ERR_INVALID_INPUT:
		return "input maps to the identity element";
	case VEIL_ERR_DERIVE_KEY_PAIR:
		return "key pair derivation failed";
	case VEIL_ERR_INVERSE:
		return "tweaked key is not invertible";
	case VEIL_ERR_VERIFY:
		return "proof verification failed";
	case VEIL_ERR_LIMIT:
		return "size limit exceeded";
	case VEIL_ERR_PARSE:
		return "malformed input";
	case VEIL_ERR_SYSTEM:
		return "system call failed";
	case VEIL_ERR_CRYPTO:
		return "crypto library failure";
	case VEIL_ERR_TIMEOUT:
		return "timed out";
	case VEIL_ERR_TRANSPORT:
		return "transport failure";
	case VEIL_ERR_EXISTS:
		return "already exists";
	case VEIL_ERR_NOT_FOUND:
		return "not found";
	case VEIL_ERR_PERMISSION:
		return "secret file readable by others";
	case VEIL_ERR_CORRUPT:
		return "damaged or unknown format";
	case VEIL_ERR_BUSY:
		return "server busy";
	}
	return "unknown error";
}
