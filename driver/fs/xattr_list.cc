#include "driver/fs/xattr_list.h"

#include <sys/xattr.h>

#include <algorithm>

#include "driver/fs/posix_error.h"

namespace snapvol::fs {

core::Status PutXattr(objects::Entry* e, const std::string& name, const std::string& value,
                      int flags) {
  auto* xs = e->mutable_xattrs();
  auto it =
      std::lower_bound(xs->begin(), xs->end(), name,
                       [](const objects::Xattr& x, const std::string& k) { return x.name() < k; });
  const bool exists = it != xs->end() && it->name() == name;
  if ((flags & XATTR_CREATE) && exists) return PosixError(EEXIST, "xattr exists");
  if ((flags & XATTR_REPLACE) && !exists) return PosixError(ENODATA, "no such xattr");
  if (exists) {
    it->set_value(value);
    return core::Status::Ok();
  }
  objects::Xattr x;
  x.set_name(name);
  x.set_value(value);
  const int pos = static_cast<int>(it - xs->begin());
  xs->Add(std::move(x));
  for (int i = xs->size() - 1; i > pos; --i) xs->SwapElements(i, i - 1);
  return core::Status::Ok();
}

core::Status DeleteXattr(objects::Entry* e, const std::string& name) {
  auto* xs = e->mutable_xattrs();
  auto it = std::find_if(xs->begin(), xs->end(),
                         [&](const objects::Xattr& x) { return x.name() == name; });
  if (it == xs->end()) return PosixError(ENODATA, "no such xattr");
  xs->erase(it);
  return core::Status::Ok();
}

core::Result<std::string> FindXattr(const objects::Entry& e, const std::string& name) {
  for (const objects::Xattr& x : e.xattrs()) {
    if (x.name() == name) return x.value();
  }
  return PosixError(ENODATA, "no such xattr");
}

}  // namespace snapvol::fs
