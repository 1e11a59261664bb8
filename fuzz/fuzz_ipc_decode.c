/* fuzz_ipc_decode.c — libFuzzer target for the IPC message decoder (lib/ipc, ipc_msg_decode). */
#include <stddef.h>
#include <stdint.h>

#include "safecam/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ipc_msg m;
    if (ipc_msg_decode(data, size, &m) == 0)
        ipc_msg_clear(&m);
    return 0;
}
