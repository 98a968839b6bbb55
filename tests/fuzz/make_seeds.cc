// Writes the seeds of the fuzz targets whose inputs a store does not hold:
// journal files and control JSON, encoded by the real encoders (with
// non-UTF-8 paths, every journal operation, a torn tail). Run by
// make_corpus.sh: make_seeds CORPUS_DIR.
#include <cstdio>
#include <fstream>
#include <string>

#include "driver/fs/control_json.h"
#include "driver/fs/journal.h"

namespace {

using namespace snapvol;

bool Write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  return static_cast<bool>(out);
}

mount::JournalRecord Record(mount::JournalRecord::Op op, std::initializer_list<const char*> path) {
  mount::JournalRecord r;
  r.set_op(op);
  for (const char* p : path) r.add_path(p);
  return r;
}

std::string Journal() {
  std::string j = "svJ1";
  mount::JournalRecord put = Record(mount::JournalRecord::PUT, {"dir", "f\xff.txt"});
  put.mutable_entry()->set_type(objects::FILE);
  put.mutable_entry()->set_mode(0644);
  put.mutable_entry()->set_size(5);
  put.mutable_entry()->mutable_content()->set_inline_data("hello");
  j += fs::EncodeJournalRecord(put);
  mount::JournalRecord upper = Record(mount::JournalRecord::PUT, {"big"});
  upper.mutable_entry()->set_type(objects::FILE);
  upper.set_upper(7);
  j += fs::EncodeJournalRecord(upper);
  mount::JournalRecord mkdir = Record(mount::JournalRecord::MKDIR, {"d"});
  mkdir.mutable_entry()->set_type(objects::DIRECTORY);
  objects::Xattr* x = mkdir.mutable_entry()->add_xattrs();
  x->set_name("user.k");
  x->set_value("v");
  mkdir.set_xattrs(true);
  j += fs::EncodeJournalRecord(mkdir);
  mount::JournalRecord setattr = Record(mount::JournalRecord::SETATTR, {"d"});
  setattr.set_mode(0700);
  setattr.set_uid(1000);
  setattr.set_mtime_ns(1700000000000000000);
  setattr.set_size(3);
  j += fs::EncodeJournalRecord(setattr);
  mount::JournalRecord rename = Record(mount::JournalRecord::RENAME, {"d"});
  rename.add_to("e");
  j += fs::EncodeJournalRecord(rename);
  j += fs::EncodeJournalRecord(Record(mount::JournalRecord::DELETE, {"big"}));
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string journal = Journal();
  fs::MountInfo info{"m1", "/var/lib/snapvol",  "main", "models", "v-1", "/mnt/m\xfe", 42, 3, true,
                     5000, 1700000000000000000, ""};
  fs::MountOptions options;
  options.store = "/store";
  options.volume = "models";
  options.mountpoint = "/mnt/\xff";
  options.state_dir = "/run/snapvol";
  options.pod = "p";
  fs::CommitInfo commit{7, false, 3, 1, 2, 1700000000000000000, "explicit"};
  fs::MountStatus status;
  status.volume = "models";
  status.store = "/st\xc3";
  status.has_last_commit = true;
  status.last_commit = commit;
  status.last_commit_error = "disk \xff full";
  bool ok = Write(dir + "/journal/ops", journal) &&
            Write(dir + "/journal/torn", journal.substr(0, journal.size() - 3)) &&
            Write(dir + "/journal/empty", "svJ1") &&
            Write(dir + "/control_json/mount_info", fs::EncodeMountInfo(info)) &&
            Write(dir + "/control_json/mount_options", fs::EncodeMountOptions(options)) &&
            Write(dir + "/control_json/commit_info", fs::EncodeCommitInfo(commit)) &&
            Write(dir + "/control_json/mount_status", fs::EncodeMountStatus(status));
  if (!ok) std::fprintf(stderr, "make_seeds: cannot write under %s\n", dir.c_str());
  return ok ? 0 : 1;
}
