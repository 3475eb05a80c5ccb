#include "util/tar_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "util/tar_writer.h"

namespace berth {
namespace {

bool put(int out, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(out, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

// The file's bytes, exactly `size` of them: one that shrank while read is padded.
bool putFile(int out, int fd, int64_t size) {
  std::string buf(64 * 1024, '\0');
  int64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(fd, buf.data(), size_t(std::min<int64_t>(left, int64_t(buf.size()))));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!put(out, buf.substr(0, size_t(n)))) return false;
    left -= n;
  }
  if (left > 0 && !put(out, std::string(size_t(left), '\0'))) return false;
  return put(out, tarPadding(size));
}

}  // namespace

std::vector<std::string> sortedEntries(int dirFd) {
  std::vector<std::string> names;
  DIR* d = ::fdopendir(::dup(dirFd));
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool writeTarTree(int out, int dirFd, const std::string& name, const std::string& tarName, dev_t onlyDev) {
  struct stat st {};
  if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return true;  // gone meanwhile
  TarEntry e;
  e.name = tarName;
  e.mode = int(st.st_mode & 07777);
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.mtime = st.st_mtim.tv_sec;
  if (onlyDev != 0 && S_ISDIR(st.st_mode) && st.st_dev != onlyDev) {
    // Another filesystem mounted here (export): the directory, not its contents.
    TarEntry d;
    d.name = tarName.ends_with('/') ? tarName : tarName + "/";
    d.type = '5';
    d.mode = e.mode;
    d.mtime = e.mtime;
    return put(out, tarHeader(d));
  }
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlinkat(dirFd, name.c_str(), buf, sizeof buf);
    e.type = '2';
    e.linkname = n > 0 ? std::string(buf, size_t(n)) : "";
    return put(out, tarHeader(e));
  }
  if (S_ISREG(st.st_mode)) {
    int fd = ::openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return true;
    e.size = st.st_size;
    bool ok = put(out, tarHeader(e)) && putFile(out, fd, st.st_size);
    int saved = errno;
    ::close(fd);
    errno = saved;
    return ok;
  }
  if (!S_ISDIR(st.st_mode)) return true;  // devices, fifos, sockets: not archived
  e.type = '5';
  if (!e.name.ends_with('/')) e.name.push_back('/');
  if (!put(out, tarHeader(e))) return false;
  int sub = ::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0) return true;
  bool ok = true;
  for (const std::string& n : sortedEntries(sub)) {
    if (!(ok = writeTarTree(out, sub, n, e.name + n, onlyDev))) break;
  }
  int saved = errno;
  ::close(sub);
  errno = saved;
  return ok;
}

}  // namespace berth
