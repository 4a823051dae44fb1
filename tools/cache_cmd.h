/* `hypernodes cache`: statistics and clearing of a cache directory (cache_cmd.c). */
#ifndef HN_TOOLS_CACHE_CMD_H
#define HN_TOOLS_CACHE_CMD_H

/* `hypernodes cache ARGS...` (argv after "cache"): 0 done, 1 failure, 2 usage error. */
int cache_main(int argc, char **argv);

#endif /* HN_TOOLS_CACHE_CMD_H */
