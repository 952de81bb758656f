/* Kafka administration the integration tests need and kcat lacks:
 *   kafka_admin delete-topic BROKERS TOPIC
 * Exits 0 on success, 1 with the reason on stderr. */
#include "kafka/kafka.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    char err[512] = "";
    if (argc == 4 && !strcmp(argv[1], "delete-topic")) {
        if (od_kafka_delete_topic(argv[2], argv[3], err, sizeof err) == OD_OK) return 0;
        fprintf(stderr, "kafka_admin: %s\n", err);
        return 1;
    }
    fputs("usage: kafka_admin delete-topic BROKERS TOPIC\n", stderr);
    return 2;
}
