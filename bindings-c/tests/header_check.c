/* Compiled (never run) as strict C99 with every warning: the header stands alone. */
#include "synapse_auth.h"
#include "synapse_auth.h" /* include guard */

int synapse_header_check(void);
int synapse_header_check(void) {
  synapse_stats stats = {0};
  synapse_result r = SYNAPSE_OK;
  (void)stats;
  return (int)r + (int)SYNAPSE_CIRCUIT_STATE_CLOSED;
}
