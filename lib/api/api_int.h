/* Private to lib/api: the server's shared state and the helpers the routes
 * use (database connections, producing with an acknowledgement, the calls
 * this process accepted recently). */
#ifndef OD_API_INT_H
#define OD_API_INT_H

#include "api/api.h"
#include "core/id.h"
#include "db/db.h"
#include "httpd/httpd.h"
#include "kafka/kafka.h"

#include <pthread.h>

/* Calls accepted by this process, remembered so that GET and cancel can
 * answer for a call between the broker's ack and intake storing it. */
#define OD_API_RECENT 4096

typedef struct {
    char call_id[OD_UUID_STRLEN];
    char *org_id, *request_id;
} od_api_recent_t;

typedef struct {
    const od_api_conf_t *conf;
    od_kafka_producer_t *producer;
    pthread_t poller;
    volatile int stopping;
    pthread_mutex_t db_mu;
    od_db_t **idle; /* database connections not in use */
    int nidle;
    pthread_mutex_t recent_mu;
    od_api_recent_t recent[OD_API_RECENT];
    int recent_next;
} od_api_t;

/* The request handler (routes.c). */
void od_api_handle(void *ctx, const od_httpd_req_t *req, od_httpd_resp_t *resp);

/* A database connection for this thread's use, or NULL (logged); give it
 * back with od_api_db_give. */
od_db_t *od_api_db_take(od_api_t *api);
void od_api_db_give(od_api_t *api, od_db_t *db);

/* Produces one message and waits up to conf->kafka_wait_ms for the
 * broker's acknowledgement. OD_OK once acknowledged; OD_ERR_KAFKA if it
 * failed; OD_ERR_TIMEOUT if no answer came in time (the message may still
 * be delivered later). */
int od_api_produce(od_api_t *api, const char *key, const char *value);

void od_api_recent_add(od_api_t *api, const char *call_id, const char *org_id,
                       const char *request_id);
/* The request_id of a call of org_id accepted here recently, copied into
 * out; 0 if found, -1 if not. */
int od_api_recent_find(od_api_t *api, const char *call_id, const char *org_id, char *out,
                       size_t cap);

#endif
