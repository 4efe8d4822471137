/* Runs a libFuzzer harness over the files given (or every file in the
 * directories given) once each: the corpus as a regression test, in builds
 * without libFuzzer.  `make fuzz` builds the real fuzzers with clang. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
replay_file (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) err = NULL;
  if (!g_file_get_contents (path, &data, &len, &err))
    {
      fprintf (stderr, "%s\n", err->message);
      return 1;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
  return 0;
}

int
main (int argc, char **argv)
{
  int inputs = 0, failed = 0;
  for (int i = 1; i < argc; i++)
    {
      if (!g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          failed += replay_file (argv[i]);
          inputs++;
          continue;
        }
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)))
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);
          failed += replay_file (path);
          inputs++;
        }
    }
  printf ("replayed %d inputs\n", inputs);
  return failed || inputs == 0 ? 1 : 0;
}
