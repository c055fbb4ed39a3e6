/*
 * Contact files: what `veil lookup [FILE|-]` reads.
 *
 * contacts_parse() turns a file's bytes into an ordered list of entries,
 * one per phone number or email address, each the text as the file gives
 * it (trimmed of spaces and tabs), with the line it starts on. It does not
 * normalize: the caller hands each entry to normalize_handle(), so that
 * parsing and normalizing stay separate and an entry that does not
 * normalize can be reported by its line.
 *
 * The format is detected from the content, after an optional UTF-8 byte
 * order mark, by the first line that is not blank (blank: only spaces and
 * tabs):
 *
 *   - vCard, if that line is BEGIN:VCARD (any case);
 *   - CSV, if it holds a comma, or is a header naming a contact column
 *     (below);
 *   - plain lines otherwise, including when it starts with '#'.
 *
 * Line breaks are LF, CRLF or a lone CR, in every format. A NUL byte
 * anywhere is an error: contact files are text, and a UTF-16 export would
 * otherwise turn into a list of garbage.
 *
 * Plain lines: one entry per line that is not blank; lines whose first
 * non-blank character is '#' are comments.
 *
 * CSV (RFC 4180): fields separated by commas, records by line breaks;
 * a field whose first character other than spaces and tabs is '"' is
 * quoted, may hold commas and line breaks, and writes '"' as '""'; after
 * its closing quote only spaces and tabs may come before the next comma or
 * line break. A '"' inside an unquoted field is an ordinary character.
 * Blank records are skipped. If the first record is a header naming at
 * least one contact column, every such column is taken, in column order,
 * from each later record; otherwise the first column of every record is
 * taken, the first record included. Empty and blank cells give no entry.
 *
 * A header cell names a contact column when it holds only ASCII letters,
 * digits, spaces, tabs and "-_/()", no run of three or more digits, and
 * among its words (split at spaces, tabs and "_/()", each also split at
 * '-') one of phone, phones, telephone, tel, mobile, cell, cellphone,
 * email, emails, e-mail, and none of type, label, name, display, kind.
 * So "Phone", "E-mail Address", "Mobile Phone" and Google's
 * "Phone 1 - Value" are taken; "Phone 1 - Type", "E-mail Display Name" and
 * "Mobile: 415 555 0100" are not.
 *
 * vCard (3.0 and 4.0; 2.1 works as far as it shares their syntax, without
 * quoted-printable): a line break followed by a space or a tab continues
 * the line before (the break and that one character are removed). Cards
 * run from BEGIN:VCARD to END:VCARD; a file holds any number of them, and
 * only blank lines between them. Inside a card, every TEL and EMAIL
 * property gives an entry, with or without parameters or a group prefix
 * ("item1.TEL;type=CELL:..."), names in any case. The value starts after
 * the first ':' outside a double-quoted parameter value, and is kept as it
 * is but for the escapes "\," "\;" "\\" and "\n" (or "\N", a line feed);
 * other backslashes stay. A vCard 4 URI value keeps its scheme
 * ("TEL;VALUE=uri:tel:+1-415-555-0100" gives "tel:+1-415-555-0100", which
 * normalize_handle() accepts). Other properties are skipped, as are lines
 * inside a card that are not properties at all (no ':' or ';' right after
 * the name, as in base64 data a vCard 2.1 writer did not fold). BEGIN and END of other objects
 * inside a card are skipped too.
 *
 * Errors (with the 1-based line, where there is one, in *error_line):
 *   VEIL_ERR_PARSE  a NUL byte; a quoted CSV field left open at the end
 *                   (the line of its opening quote), or followed by
 *                   something other than a comma or a line break; in a
 *                   vCard, END:VCARD outside a card, BEGIN:VCARD inside
 *                   one, a card left open at the end (the line of its
 *                   BEGIN), anything but a blank line outside cards, a TEL
 *                   or EMAIL property with parameters but no ':' after
 *                   them (a parameter quote left open);
 *   VEIL_ERR_LIMIT  above CONTACTS_MAX_SIZE bytes (line 0), more than
 *                   CONTACTS_MAX_ENTRIES entries, a line (after unfolding,
 *                   for vCard) or CSV record above CONTACTS_MAX_LINE
 *                   bytes, a CSV record of more than CONTACTS_MAX_COLUMNS
 *                   fields, an entry above CONTACTS_MAX_FIELD bytes;
 *   VEIL_ERR_NOMEM  memory ran out (line 0);
 *   VEIL_ERR_ARGUMENT  out is NULL, or text is NULL with len > 0.
 *
 * Entries may hold any byte but NUL, including invalid UTF-8 and, from a
 * vCard "\n" or a quoted CSV field, line feeds: they are what the file
 * says, for the normalizer to accept or refuse.
 *
 * Contact data is personal: contacts_free() wipes the entries' text.
 * A list is never changed after parsing, so any number of threads may read
 * it.
 */
#ifndef VEIL_CLIENT_CONTACTS_H
#define VEIL_CLIENT_CONTACTS_H

#include <stddef.h>

#include "error.h"

#define CONTACTS_MAX_SIZE    ((size_t)64 << 20) /* bytes of one file */
#define CONTACTS_MAX_ENTRIES 1000000            /* entries of one file */
/*
 * Bytes of one line, one unfolded vCard line or one CSV record. Large,
 * because a vCard PHOTO is one long line.
 */
#define CONTACTS_MAX_LINE    ((size_t)4 << 20)
#define CONTACTS_MAX_FIELD   4096 /* bytes of one entry */
#define CONTACTS_MAX_COLUMNS 1024 /* fields of one CSV record */

typedef enum contacts_format {
	CONTACTS_PLAIN,
	CONTACTS_CSV,
	CONTACTS_VCARD,
} contacts_format;

/* One phone number or email address, as the file gives it. */
typedef struct contact_entry {
	const char *input; /* NUL-terminated; owned by the list */
	size_t input_len;  /* bytes, without the NUL; 1 to CONTACTS_MAX_FIELD */
	unsigned line;     /* 1-based line of the file it starts on */
} contact_entry;

/* A parsed file: the entries in file order, and the format detected. */
typedef struct contact_list contact_list;

/*
 * Parses len bytes of text (need not be NUL-terminated; may be NULL when
 * len is 0), as described above. *out is set to NULL and *error_line (when
 * error_line is not NULL) to 0 first. On success *out is the list, to be
 * freed with contacts_free(); a file without entries (empty, blank, only
 * comments) gives an empty list. On error *out stays NULL, nothing is left
 * allocated, and the error is one of those listed above.
 */
veil_err contacts_parse(const char *text, size_t len, contact_list **out, unsigned *error_line)
        __attribute__((warn_unused_result));

/* Wipes and frees list and every entry in it. NULL is a no-op. */
void contacts_free(contact_list *list);

/* The number of entries; 0 for NULL. */
size_t contacts_count(const contact_list *list);

/*
 * Entry i, valid until contacts_free(list); NULL when list is NULL or
 * i >= contacts_count(list).
 */
const contact_entry *contacts_get(const contact_list *list, size_t i);

/* The format the file was read as; CONTACTS_PLAIN for NULL. */
contacts_format contacts_format_of(const contact_list *list);

/* "plain", "csv" or "vcard"; "unknown" for other values. Static. */
const char *contacts_format_name(contacts_format format);

#endif
