/*
 * libveil-client's API, for the code of this tree: the header is the
 * public one, include/veil/veil_client.h (installed as
 * <veil/veil_client.h>), which documents every function.
 */
#ifndef VEIL_CLIENT_INTERNAL_H
#define VEIL_CLIENT_INTERNAL_H

#include <veil/veil_client.h>

#endif
