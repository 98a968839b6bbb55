#include "driver/csi/publish_store.h"

#include <nlohmann/json.hpp>

#include "driver/core/hash.h"
#include "driver/core/json_bytes.h"
#include "driver/csi/log.h"

namespace snapvol::csi {

using core::Result;
using core::Status;
using nlohmann::json;

namespace {

constexpr int kFormat = 1;

std::string Encode(const PublishRecord& r) {
  json j = {{"format", kFormat},
            {"volume_id", r.volume_id},
            {"target_path", r.target_path},
            {"environment", r.environment},
            {"volume", r.volume},
            {"read_only", r.read_only},
            {"ephemeral", r.ephemeral},
            {"version", r.version},
            {"pod_namespace", r.pod_namespace},
            {"pod_name", r.pod_name},
            {"published_ns", r.published_ns}};
  return j.dump(2) + "\n";
}

Result<PublishRecord> Decode(const std::string& text, const std::string& file) {
  try {
    json j = json::parse(text);
    int format = 0;
    core::GetJsonField(j, "format", &format);
    if (format != kFormat) {
      return Status::Corruption(file + ": unknown publish record format");
    }
    PublishRecord r;
    r.volume_id = j.at("volume_id").get<std::string>();
    r.target_path = j.at("target_path").get<std::string>();
    core::GetJsonField(j, "environment", &r.environment);
    core::GetJsonField(j, "volume", &r.volume);
    core::GetJsonField(j, "read_only", &r.read_only);
    core::GetJsonField(j, "ephemeral", &r.ephemeral);
    core::GetJsonField(j, "version", &r.version);
    core::GetJsonField(j, "pod_namespace", &r.pod_namespace);
    core::GetJsonField(j, "pod_name", &r.pod_name);
    core::GetJsonField(j, "published_ns", &r.published_ns);
    return r;
  } catch (const std::exception& e) {
    return Status::Corruption(file + ": malformed publish record: " + e.what());
  }
}

}  // namespace

Status PublishStore::Init() { return env_->CreateDirs(dir_); }

std::string PublishStore::FileFor(const std::string& target_path) const {
  return dir_ + "/" + core::Hash::Of(target_path).Hex().substr(0, 32) + ".json";
}

Status PublishStore::Put(const PublishRecord& record) {
  std::string file = FileFor(record.target_path);
  std::string tmp = file + ".tmp";
  ASSIGN_OR_RETURN(auto out, env_->NewWritableFile(tmp));
  RETURN_IF_ERROR(out->Append(Encode(record)));
  RETURN_IF_ERROR(out->Sync());
  RETURN_IF_ERROR(out->Close());
  RETURN_IF_ERROR(env_->RenameFile(tmp, file));
  return env_->SyncDir(dir_);
}

Result<std::optional<PublishRecord>> PublishStore::Get(const std::string& target_path) {
  std::string file = FileFor(target_path);
  auto text = env_->ReadFile(file);
  if (!text.ok()) {
    if (text.status().Is(core::Code::kNotFound)) return std::optional<PublishRecord>();
    return text.status();
  }
  ASSIGN_OR_RETURN(PublishRecord r, Decode(*text, file));
  if (r.target_path != target_path) return std::optional<PublishRecord>();  // hash prefix clash
  return std::optional<PublishRecord>(std::move(r));
}

Status PublishStore::Remove(const std::string& target_path) {
  Status st = env_->RemoveFile(FileFor(target_path));
  if (!st.ok() && !st.Is(core::Code::kNotFound)) return st;
  return env_->SyncDir(dir_);
}

Result<std::vector<PublishRecord>> PublishStore::List() {
  ASSIGN_OR_RETURN(auto names, env_->ListDir(dir_));
  std::vector<PublishRecord> out;
  for (const auto& name : names) {
    if (name.size() < 5 || name.substr(name.size() - 5) != ".json") continue;
    std::string file = dir_ + "/" + name;
    auto text = env_->ReadFile(file);
    if (!text.ok()) {
      LOG_CSI(kWarning) << "skipping publish record " << file << ": " << text.status().ToString();
      continue;
    }
    auto r = Decode(*text, file);
    if (!r.ok()) {
      LOG_CSI(kWarning) << "skipping publish record: " << r.status().ToString();
      continue;
    }
    out.push_back(std::move(r).value());
  }
  return out;
}

}  // namespace snapvol::csi
