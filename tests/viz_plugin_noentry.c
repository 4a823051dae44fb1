/* A shared library without hypernodes_pipelines: `hypernodes viz --plugin` must say so. */
__attribute__((visibility("default"))) int hn_test_not_the_entry_point(void);
int hn_test_not_the_entry_point(void) {
  return 42;
}
