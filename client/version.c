/* veil_client_version(): the version the library was built as. */
#include "veil_client.h"

const char *
veil_client_version(void)
{
	return VEIL_VERSION_STRING;
}
