/* veil_client_key_read(): the client key files `veil keygen` writes. */
#include "veil_client.h"

#include <string.h>

#include "keyfile.h"

veil_err
veil_client_key_read(const char *path, uint8_t secret_out[VEIL_KEY_SIZE])
{
	if (path == NULL || secret_out == NULL) {
		if (secret_out != NULL)
			memset(secret_out, 0, VEIL_KEY_SIZE);
		return VEIL_ERR_ARGUMENT;
	}
	veil_err err = keyfile_read(path, VEIL_CLIENT_KEY_KIND, secret_out, VEIL_KEY_SIZE);
	if (err != VEIL_OK)
		memset(secret_out, 0, VEIL_KEY_SIZE);
	return err;
}
