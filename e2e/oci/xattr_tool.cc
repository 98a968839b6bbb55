// xattr: the control attributes from inside a busybox container (busybox
// has no setfattr). Built static and copied into the test rootfs.
//   xattr set PATH NAME VALUE     xattr get PATH NAME
#include <sys/xattr.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "set") == 0) {
    if (setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) != 0) {
      perror("setxattr");
      return 1;
    }
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "get") == 0) {
    char buf[65536];
    ssize_t n = getxattr(argv[2], argv[3], buf, sizeof(buf));
    if (n < 0) {
      perror("getxattr");
      return 1;
    }
    fwrite(buf, 1, static_cast<size_t>(n), stdout);
    putchar('\n');
    return 0;
  }
  fprintf(stderr, "usage: xattr set PATH NAME VALUE | xattr get PATH NAME\n");
  return 2;
}
