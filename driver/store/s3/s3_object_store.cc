#include "driver/store/s3/s3_object_store.h"

namespace snapvol::store {

using core::Code;

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Open(std::unique_ptr<S3Client> client,
                                                           std::string_view prefix) {
  ASSIGN_OR_RETURN(S3Layout layout, S3Layout::ForPrefix(prefix));
  const std::string key = layout.FormatKey();
  auto format = client->GetObject(key);
  if (format.status().Is(Code::kNotFound)) {
    Status s = client->PutObject(key, S3Layout::FormatContent(), PutCondition::kIfAbsent);
    // AlreadyExists: another opener was first; check what it wrote.
    if (!s.ok() && !s.Is(Code::kAlreadyExists)) return s.Annotate("create store format");
    if (s.ok()) format = S3Layout::FormatContent();
    if (!format.ok()) format = client->GetObject(key);
  }
  if (!format.ok()) return format.status().Annotate("open S3 store");
  RETURN_IF_ERROR(
      S3Layout::CheckFormat(*format).Annotate("open S3 store " + client->Describe(key)));
  return std::unique_ptr<S3ObjectStore>(new S3ObjectStore(std::move(client), std::move(layout)));
}

std::string S3ObjectStore::Describe(const Hash& id, ObjectKind kind) const {
  return std::string(ObjectKindName(kind)) + " object " + id.Hex();
}

Status S3ObjectStore::Put(const Hash& id, ObjectKind kind, std::string_view data) {
  Hash actual = Hash::Of(data);
  if (actual != id) {
    return Status::InvalidArgument("put " + Describe(id, kind) + ": the " +
                                   std::to_string(data.size()) + " bytes given hash to " +
                                   actual.Hex());
  }
  return Store(id, kind, data);
}

Result<Hash> S3ObjectStore::PutContent(ObjectKind kind, std::string_view data) {
  Hash id = Hash::Of(data);
  RETURN_IF_ERROR(Store(id, kind, data));
  return id;
}

Status S3ObjectStore::Store(const Hash& id, ObjectKind kind, std::string_view data) {
  const std::string key = layout_.ObjectKey(id, kind);
  bool known_corrupt;
  {
    std::lock_guard<std::mutex> l(mu_);
    known_corrupt = corrupt_.count(key) != 0;
  }
  PutCondition condition = PutCondition::kIfAbsent;
  if (!known_corrupt) {
    auto head = client_->HeadObject(key);
    if (head.ok() && head->size == data.size()) return Status::Ok();
    if (head.ok()) {
      condition = PutCondition::kNone;  // wrong size: overwrite
    } else if (!head.status().Is(Code::kNotFound)) {
      return head.status().Annotate("put " + Describe(id, kind));
    }
  } else {
    condition = PutCondition::kNone;
  }
  Status s = client_->PutObject(key, data, condition);
  if (s.Is(Code::kAlreadyExists)) s = Status::Ok();  // same name, same bytes
  if (!s.ok()) return s.Annotate("put " + Describe(id, kind));
  if (known_corrupt) {
    std::lock_guard<std::mutex> l(mu_);
    corrupt_.erase(key);
  }
  return Status::Ok();
}

Result<std::string> S3ObjectStore::Get(const Hash& id, ObjectKind kind) {
  const std::string key = layout_.ObjectKey(id, kind);
  auto data = client_->GetObject(key);
  if (!data.ok()) {
    if (data.status().Is(Code::kNotFound)) {
      return Status::NotFound(Describe(id, kind) + " not found at " + client_->Describe(key));
    }
    return data.status().Annotate("get " + Describe(id, kind));
  }
  Hash actual = Hash::Of(*data);
  if (actual != id) {
    {
      std::lock_guard<std::mutex> l(mu_);
      corrupt_.insert(key);
    }
    return Status::Corruption(Describe(id, kind) + " at " + client_->Describe(key) +
                              " is corrupt: its " + std::to_string(data->size()) +
                              " bytes hash to " + actual.Hex() + "; put it again to repair");
  }
  return data;
}

Result<bool> S3ObjectStore::Contains(const Hash& id, ObjectKind kind) {
  auto head = client_->HeadObject(layout_.ObjectKey(id, kind));
  if (head.ok()) return true;
  if (head.status().Is(Code::kNotFound)) return false;
  return head.status().Annotate("look up " + Describe(id, kind));
}

Status S3ObjectStore::Flush() { return Status::Ok(); }

Status S3ObjectStore::Delete(const Hash& id, ObjectKind kind) {
  const std::string key = layout_.ObjectKey(id, kind);
  ASSIGN_OR_RETURN(bool present, Contains(id, kind));
  if (!present) {
    return Status::NotFound(Describe(id, kind) + " not found at " + client_->Describe(key));
  }
  return client_->DeleteObject(key).Annotate("delete " + Describe(id, kind));
}

Status S3ObjectStore::ForEach(ObjectKind kind, const std::function<Status(const Hash&)>& fn) {
  const std::string prefix = layout_.KindPrefix(kind);
  std::string token;
  do {
    auto page = client_->ListObjectsV2(prefix, token);
    if (!page.ok())
      return page.status().Annotate("list " + std::string(ObjectKindName(kind)) + " objects");
    for (const S3ListedObject& object : page->objects) {
      std::optional<Hash> id = layout_.ParseObjectKey(object.key, kind);
      if (id.has_value()) RETURN_IF_ERROR(fn(*id));
    }
    token = page->next_continuation_token;
  } while (!token.empty());
  return Status::Ok();
}

}  // namespace snapvol::store
