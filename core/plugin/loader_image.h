/*
 * loader_image — dlopen with hot upgrade: which file each loaded plugin
 * image came from, and a private copy when that file has changed since.
 */
#ifndef RK_CORE_LOADER_IMAGE_H
#define RK_CORE_LOADER_IMAGE_H

#include <stddef.h>

typedef struct ldimg {
    void *dl; /* dlopen handle */
    int fd;   /* memfd behind a private copy, or -1 */
} ldimg;

/* dlopen(path, RTLD_NOW | RTLD_LOCAL), except that when an image loaded
 * from path is still mapped (an older generation holds it) and the file on
 * disk is no longer that image (another inode, size or mtime), the new file
 * is loaded from a private copy instead of getting the old image back.
 * 0 on success; -1 with the reason in why. */
int ldimg_open(const char *path, ldimg *out, char *why, size_t cap);
/* dlclose and forget; closes the copy's memfd. */
void ldimg_close(ldimg *img);

#endif
