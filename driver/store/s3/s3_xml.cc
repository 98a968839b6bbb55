#include "driver/store/s3/s3_xml.h"

#include <expat.h>

#include <charconv>
#include <functional>
#include <memory>

#include "driver/core/text.h"

namespace snapvol::store {
namespace {

using core::Result;
using core::Status;

std::string Cut(std::string_view s) { return core::QuoteBytes(s.substr(0, 64)); }

// Walks a document with expat and hands every leaf element's text, with
// the names of its ancestors, to `on_field`; `on_close` sees every closing
// element. Everything that makes the document not plain S3 XML fails.
class XmlWalker {
 public:
  using FieldFn = std::function<Status(int depth, std::string_view parent, std::string_view name,
                                       std::string_view text)>;
  using CloseFn = std::function<Status(int depth, std::string_view name)>;

  XmlWalker(std::string_view what, std::string_view root, FieldFn on_field, CloseFn on_close)
      : what_(what), root_(root), on_field_(std::move(on_field)), on_close_(std::move(on_close)) {}

  Status Walk(std::string_view xml) {
    if (xml.size() > kMaxXmlBytes) {
      return Status::Corruption(what_ + " is " + std::to_string(xml.size()) +
                                " bytes, more than the " + std::to_string(kMaxXmlBytes) +
                                " accepted");
    }
    std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate("UTF-8"),
                                                                        &XML_ParserFree);
    if (parser == nullptr) return Status::ResourceExhausted("cannot create an XML parser");
    parser_ = parser.get();
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, &XmlWalker::Start, &XmlWalker::End);
    XML_SetCharacterDataHandler(parser_, &XmlWalker::Text);
    // No DTD means no entity definitions, so no entity expansion (billion
    // laughs) and no external entities, whatever expat's defaults are.
    XML_SetStartDoctypeDeclHandler(parser_, &XmlWalker::Doctype);
    XML_SetEntityDeclHandler(parser_, &XmlWalker::EntityDecl);
    if (XML_Parse(parser_, xml.data(), static_cast<int>(xml.size()), XML_TRUE) ==
        XML_STATUS_ERROR) {
      if (!error_.ok()) return error_;
      return Status::Corruption(
          what_ + " is not well-formed XML: " + XML_ErrorString(XML_GetErrorCode(parser_)) +
          " at line " + std::to_string(XML_GetCurrentLineNumber(parser_)));
    }
    if (!error_.ok()) return error_;
    if (!saw_root_) return Status::Corruption(what_ + " has no <" + root_ + "> element");
    return Status::Ok();
  }

 private:
  void Fail(Status s) {
    if (error_.ok()) error_ = std::move(s);
    XML_StopParser(parser_, XML_FALSE);
  }

  static void Start(void* self_ptr, const XML_Char* name, const XML_Char**) {
    auto* self = static_cast<XmlWalker*>(self_ptr);
    if (!self->error_.ok()) return;
    if (self->path_.empty()) {
      if (self->saw_root_ || name != self->root_) {
        return self->Fail(Status::Corruption(self->what_ + " has root element " + Cut(name) +
                                             ", expected <" + self->root_ + ">"));
      }
      self->saw_root_ = true;
    }
    if (static_cast<int>(self->path_.size()) >= kMaxXmlDepth) {
      return self->Fail(Status::Corruption(self->what_ + " nests elements deeper than " +
                                           std::to_string(kMaxXmlDepth)));
    }
    self->path_.emplace_back(name);
    self->text_.clear();
    self->leaf_ = true;
  }

  static void End(void* self_ptr, const XML_Char* name) {
    auto* self = static_cast<XmlWalker*>(self_ptr);
    if (!self->error_.ok()) return;
    int depth = static_cast<int>(self->path_.size());
    Status s;
    if (self->leaf_) {
      std::string_view parent = depth >= 2 ? std::string_view(self->path_[depth - 2]) : "";
      s = self->on_field_(depth, parent, name, self->text_);
    }
    if (s.ok()) s = self->on_close_(depth, name);
    if (!s.ok()) return self->Fail(Status::Corruption(self->what_ + ": " + s.message()));
    self->path_.pop_back();
    self->text_.clear();
    self->leaf_ = false;
  }

  static void Text(void* self_ptr, const XML_Char* s, int len) {
    auto* self = static_cast<XmlWalker*>(self_ptr);
    if (!self->error_.ok() || !self->leaf_) return;
    if (self->text_.size() + static_cast<size_t>(len) > kMaxXmlFieldBytes) {
      return self->Fail(Status::Corruption(self->what_ + ": element <" + self->path_.back() +
                                           "> holds more than " +
                                           std::to_string(kMaxXmlFieldBytes) + " bytes"));
    }
    self->text_.append(s, static_cast<size_t>(len));
  }

  static void Doctype(void* self_ptr, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    auto* self = static_cast<XmlWalker*>(self_ptr);
    self->Fail(Status::Corruption(self->what_ + " has a document type declaration"));
  }

  static void EntityDecl(void* self_ptr, const XML_Char*, int, const XML_Char*, int,
                         const XML_Char*, const XML_Char*, const XML_Char*, const XML_Char*) {
    auto* self = static_cast<XmlWalker*>(self_ptr);
    self->Fail(Status::Corruption(self->what_ + " declares an entity"));
  }

  const std::string what_;
  const std::string root_;
  FieldFn on_field_;
  CloseFn on_close_;
  XML_Parser parser_ = nullptr;
  Status error_;
  bool saw_root_ = false;
  std::vector<std::string> path_;  // open elements, root first
  std::string text_;               // of the innermost open element
  bool leaf_ = false;              // the innermost open element has no child (yet)
};

Result<uint64_t> ParseSize(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Status::Corruption("object size " + Cut(text) + " is not a decimal number");
  }
  return v;
}

}  // namespace

Result<S3ListPage> ParseListObjectsV2(std::string_view xml) {
  S3ListPage page;
  bool saw_truncated = false;
  S3ListedObject current;
  bool has_key = false, has_size = false;
  auto on_field = [&](int depth, std::string_view parent, std::string_view name,
                      std::string_view text) -> Status {
    if (depth == 2 && name == "IsTruncated") {
      if (text != "true" && text != "false") {
        return Status::Corruption("IsTruncated is " + Cut(text) + ", not true or false");
      }
      page.truncated = text == "true";
      saw_truncated = true;
    } else if (depth == 2 && name == "NextContinuationToken") {
      page.next_continuation_token = std::string(text);
    } else if (depth == 3 && parent == "Contents" && name == "Key") {
      if (text.empty()) return Status::Corruption("a Contents element has an empty Key");
      current.key = std::string(text);
      has_key = true;
    } else if (depth == 3 && parent == "Contents" && name == "Size") {
      ASSIGN_OR_RETURN(current.size, ParseSize(text));
      has_size = true;
    }
    return Status::Ok();
  };
  auto on_close = [&](int depth, std::string_view name) -> Status {
    if (depth != 2 || name != "Contents") return Status::Ok();
    if (!has_key || !has_size) {
      return Status::Corruption("a Contents element lacks its " +
                                std::string(has_key ? "Size" : "Key"));
    }
    page.objects.push_back(std::move(current));
    current = {};
    has_key = has_size = false;
    return Status::Ok();
  };
  XmlWalker walker("ListObjectsV2 response", "ListBucketResult", on_field, on_close);
  RETURN_IF_ERROR(walker.Walk(xml));
  if (!saw_truncated) return Status::Corruption("ListObjectsV2 response lacks IsTruncated");
  if (page.truncated && page.next_continuation_token.empty()) {
    return Status::Corruption(
        "ListObjectsV2 response is truncated but has no NextContinuationToken");
  }
  if (!page.truncated) page.next_continuation_token.clear();
  return page;
}

Result<S3ErrorBody> ParseS3Error(std::string_view xml) {
  S3ErrorBody body;
  auto on_field = [&](int depth, std::string_view, std::string_view name,
                      std::string_view text) -> Status {
    if (depth == 2 && name == "Code") body.code = std::string(text);
    if (depth == 2 && name == "Message") body.message = std::string(text);
    return Status::Ok();
  };
  auto on_close = [](int, std::string_view) { return Status::Ok(); };
  XmlWalker walker("S3 error response", "Error", on_field, on_close);
  RETURN_IF_ERROR(walker.Walk(xml));
  if (body.code.empty()) return Status::Corruption("S3 error response has no Code");
  return body;
}

}  // namespace snapvol::store
