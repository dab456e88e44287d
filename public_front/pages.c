/* The web pages: GET/HEAD /, /admin and /static/<file>, plain files of the
 * www dir, read once at start and served from memory (docs/internals.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front.h"
#include "log.h"

#define STATIC_PREFIX "/static/"
#define PAGES_NAME_MAX 64
#define PAGES_FILE_MAX (1024 * 1024)
#define PAGES_MAX 64

/* Every page response: the pages load nothing but their own files and
 * talk only to their own origin (no CDN, no inline script or style, no
 * framing); a browser must not guess another type than ours. */
#define PAGES_HEADERS                                                                          \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "    \
	"connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "            \
	"frame-ancestors 'none'\r\n"                                                           \
	"X-Content-Type-Options: nosniff\r\n"                                                  \
	"Referrer-Policy: no-referrer\r\n"

/* The types served; a file of any other type is not served at all. */
static const struct page_type {
	const char *extension;
	const char *content_type;
} page_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
};

struct front_page {
	char name[PAGES_NAME_MAX + 1];
	const char *content_type;
	char *body;
	size_t len;
};

struct front_pages {
	size_t count;
	struct front_page page[PAGES_MAX];
};

/* The content type of a file name that may be served, or NULL: one plain
 * name (letters, digits, '-', '_', '.'; no '/', no leading dot, no "..")
 * with a known extension. civetweb has already decoded %2e and %2f, so an
 * encoded traversal reaches this check as the plain one. */
static const char *servable_type(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > PAGES_NAME_MAX || name[0] == '.' || strstr(name, "..") != NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return NULL;
	}
	for (size_t i = 0; i < sizeof page_types / sizeof page_types[0]; i++) {
		size_t elen = strlen(page_types[i].extension);
		if (len > elen && strcmp(name + len - elen, page_types[i].extension) == 0)
			return page_types[i].content_type;
	}
	return NULL;
}

/* Reads the regular file name of the open directory dir into page; a
 * symbolic link or anything but a regular file is not served. 0, 1 when it
 * is skipped, or -1 with why[] set. */
static int load_page(int dir, const char *name, const char *type, struct front_page *page,
		     char *why, size_t size)
{
	struct stat st;
	size_t used = 0;
	int fd, rc = -1;

	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return 1;
		snprintf(why, size, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = 1;
		goto out;
	}
	if (st.st_size > PAGES_FILE_MAX) {
		snprintf(why, size, "%s: over %d bytes", name, PAGES_FILE_MAX);
		goto out;
	}
	page->body = malloc((size_t)st.st_size + 1);
	if (page->body == NULL) {
		snprintf(why, size, "%s: out of memory", name);
		goto out;
	}
	while (used < (size_t)st.st_size) {
		ssize_t n = read(fd, page->body + used, (size_t)st.st_size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, size, "%s: %s", name, n < 0 ? strerror(errno) : "short read");
			free(page->body);
			page->body = NULL;
			goto out;
		}
		used += (size_t)n;
	}
	memcpy(page->name, name, strlen(name) + 1); /* servable_type: at most PAGES_NAME_MAX */
	page->content_type = type;
	page->len = used;
	rc = 0;
out:
	close(fd);
	return rc;
}

static const struct front_page *find_page(const struct front_pages *pages, const char *name)
{
	for (size_t i = 0; i < pages->count; i++) {
		if (strcmp(pages->page[i].name, name) == 0)
			return &pages->page[i];
	}
	return NULL;
}

int front_pages_open(struct front *f, char *why, size_t size)
{
	struct front_pages *pages;
	struct dirent *entry;
	DIR *dir;
	int rc = -1;

	dir = opendir(f->www_dir);
	if (dir == NULL) {
		snprintf(why, size, "%s", strerror(errno));
		return -1;
	}
	pages = calloc(1, sizeof *pages);
	if (pages == NULL) {
		snprintf(why, size, "out of memory");
		goto out;
	}
	while ((entry = readdir(dir)) != NULL) {
		const char *type = servable_type(entry->d_name);
		int loaded;

		if (type == NULL)
			continue;
		if (pages->count == PAGES_MAX) {
			snprintf(why, size, "more than %d files to serve", PAGES_MAX);
			goto out;
		}
		loaded = load_page(dirfd(dir), entry->d_name, type, &pages->page[pages->count], why,
				   size);
		if (loaded < 0)
			goto out;
		if (loaded == 0)
			pages->count++;
	}
	if (find_page(pages, "index.html") == NULL) {
		snprintf(why, size, "index.html: no such regular file");
		goto out;
	}
	f->pages = pages;
	pages = NULL;
	rc = 0;
out:
	if (pages != NULL) {
		for (size_t i = 0; i < pages->count; i++)
			free(pages->page[i].body);
		free(pages);
	}
	closedir(dir);
	return rc;
}

void front_pages_close(struct front *f)
{
	if (f->pages == NULL)
		return;
	for (size_t i = 0; i < f->pages->count; i++)
		free(f->pages->page[i].body);
	free(f->pages);
	f->pages = NULL;
}

int front_pages_reply(struct mg_connection *conn, struct front *f)
{
	const char *path = http_path(conn);
	const struct front_page *page;
	const char *name;

	if (strcmp(path, "/") == 0)
		name = "index.html";
	else if (strcmp(path, "/admin") == 0)
		name = "admin.html";
	else
		name = path + strlen(STATIC_PREFIX);
	page = servable_type(name) != NULL && f->pages != NULL ? find_page(f->pages, name) : NULL;
	if (page == NULL)
		return http_reply_error(conn, 404, "not_found", "no such path");
	return http_reply(conn, 200, page->content_type, page->body, page->len, PAGES_HEADERS);
}
