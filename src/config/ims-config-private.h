/* ims-config-private: what the three parts of the config module share (the
 * lexer, the key table, the checks); not an interface for anyone else.
 */
#pragma once

#include "ims-config.h"

G_BEGIN_DECLS

typedef struct {
  char *key;
  char *value;
  const char *file; /* interned */
  guint line;
  gboolean inherited;
} Entry;

typedef struct {
  char *name;
  const char *file;
  guint line;
  gboolean is_template;
  GPtrArray *bases;   /* Section*, templates defined before it (not owned) */
  GPtrArray *entries; /* Entry* */
} Section;

typedef struct {
  GPtrArray *sections;
  GPtrArray *errors;      /* at most IMS_CONFIG_MAX_ERRORS */
  guint errors_dropped;   /* past that: counted */
  guint keys_listed;      /* bit (1 << ImsKeyScope): an unknown key's error listed the known */
  gsize settings;         /* entries of every section so far, templates' copies and uses included */
  GHashTable *defined;    /* section name -> its first Section, as they are read */
  guint includes;         /* files read by #include so far */
  gsize included;         /* and their bytes */
  GPtrArray *warnings;
  GPtrArray *stack;       /* char*, files being read, for include loops */
  GHashTable *secret_files;
  Section *current;
  gboolean in_block_comment;
} Lexer;

/* ---- the lexer (ims-config-lex.c) ---- */

void ims_entry_free (Entry *e);
void ims_section_free (Section *s);
void ims_lexer_init (Lexer *lx);
void ims_lexer_clear (Lexer *lx);
/* Reads @text as @path (includes relative to it) into sections. */
void ims_lexer_text (Lexer *lx, const char *path, const char *text, gsize len);
void ims_lexer_error (Lexer *lx, const char *file, guint line, const char *fmt, ...)
    G_GNUC_PRINTF (4, 5);
/* TRUE when there were no errors; else FALSE + all of them in @error. */
gboolean ims_lexer_take_errors (Lexer *lx, GError **error);
/* A configuration file's bytes: a regular file of at most
 * IMS_CONFIG_MAX_FILE_SIZE (a FIFO, a device or a directory is refused
 * without waiting on it or reading it).  The message names @path. */
gboolean ims_config_read_file (const char *path, char **text, gsize *len, GError **error);
/* Adds to @out the entries of @from's templates, theirs first (transfer
 * container); FALSE past IMS_CONFIG_MAX_SETTINGS. */
gboolean ims_lexer_inherit (Lexer *lx, Section *sec, Section *from, GPtrArray *out, guint depth);
/* Counts @n more settings for @sec (an entry, or a use of a template);
 * FALSE (said once) past IMS_CONFIG_MAX_SETTINGS, and then nothing more is
 * read. */
gboolean ims_lexer_count_settings (Lexer *lx, const Section *sec, gsize n);
/* Printable, bounded rendering of user text for error messages. */
char *ims_config_quote (const char *s);
gboolean ims_config_is_name (const char *s, const char *extra);

/* ---- the key table (ims-config-keys.c) ---- */

const ImsConfigKey *ims_config_key (ImsKeyScope scope, const char *name);
char *ims_config_key_names (ImsKeyScope scope);
gboolean ims_key_is_list (const ImsConfigKey *k);
gboolean ims_key_applies (const ImsConfig *c, const ImsConfigKey *k, const char *type);
/* Stores one entry into @base per its row; returns an error text or NULL. */
/* @listed: the list items the section has so far ("key\nitem"), to drop a
 * repeated one without a search of the list. */
char *ims_config_apply (const ImsConfigKey *k, gpointer base, const char *value, gboolean *seen,
                        GHashTable *listed);
void ims_config_apply_defaults (ImsKeyScope scope, gpointer base, const gboolean *seen);
void ims_webuser_free (ImsWebUser *u);
void ims_person_free (ImsPerson *p);

G_END_DECLS
