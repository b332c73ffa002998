// Tests of the safetensors reader/writer: exact round trips per dtype, a file built byte by byte
// here (independent of the writer), sharded == unsharded, the index file, zero-copy lifetime,
// and one ModelLoadError per kind of bad input, naming the file and the tensor or field.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "crammer/model/safetensors.hpp"
#include "crammer/util/error.hpp"
#include "support/temp_dir.hpp"

namespace crammer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

class Safetensors : public ::testing::Test {
 protected:

  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

  // A .safetensors file from a header string and data bytes; header_len overrides the length
  // field (to fake corrupt files).
  std::string write_raw(const std::string& name, const std::string& header,
                        const std::vector<uint8_t>& data = {}, int64_t header_len = -1) const {
    const std::string p = path(name);
    std::ofstream out(p, std::ios::binary);
    uint64_t n = header_len >= 0 ? static_cast<uint64_t>(header_len) : header.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
    out << header;
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    return p;
  }

  test::TempDir tmp_{"st"};
  std::string dir_ = tmp_.path;
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ModelLoadError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("WRONG EXCEPTION TYPE: ") + e.what();
  }
  return "NO EXCEPTION";
}

// Bitwise equality: exact round trips must keep every bit, not just compare equal.
void expect_same_bytes(const torch::Tensor& a, const torch::Tensor& b, const std::string& name) {
  ASSERT_EQ(a.scalar_type(), b.scalar_type()) << name;
  ASSERT_EQ(a.sizes(), b.sizes()) << name;
  torch::Tensor ca = a.contiguous(), cb = b.contiguous();
  if (ca.numel() == 0) return;  // no data (data_ptr may be null)
  EXPECT_EQ(std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()), 0) << name;
}

std::map<std::string, torch::Tensor> sample_tensors(torch::Dtype dtype) {
  torch::manual_seed(7);
  return {
      {"model.embed_tokens.weight", torch::randn({17, 8}).to(dtype)},  // [V, d]
      {"model.layers.0.mlp.up.weight", torch::randn({3, 5, 2}).to(dtype)},
      {"model.norm.weight", torch::randn({8}).to(dtype)},
      {"scalar", torch::randn({}).to(dtype)},
      {"empty", torch::zeros({0, 4}, dtype)},
      {"transposed", torch::randn({6, 4}).to(dtype).t()},  // non-contiguous input
  };
}

class SafetensorsRoundTrip : public Safetensors,
                             public ::testing::WithParamInterface<torch::Dtype> {};

TEST_P(SafetensorsRoundTrip, EveryTensorComesBackBitExact) {
  const auto tensors = sample_tensors(GetParam());
  write_checkpoint(dir_, tensors);
  ASSERT_TRUE(fs::exists(path("model.safetensors")));
  const Checkpoint ck = Checkpoint::open(dir_);
  std::vector<std::string> expected_names;
  for (const auto& kv : tensors) expected_names.push_back(kv.first);
  EXPECT_EQ(ck.names(), expected_names);
  for (const auto& [name, t] : tensors) {
    const TensorInfo& info = ck.info(name);
    EXPECT_EQ(info.dtype, GetParam());
    EXPECT_EQ(info.shape, t.sizes().vec());
    EXPECT_EQ(info.file, path("model.safetensors"));
    expect_same_bytes(ck.get(name), t, name);
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, SafetensorsRoundTrip,
                         ::testing::Values(torch::kFloat32, torch::kFloat16, torch::kBFloat16));

// Bytes written by hand: F32 1.5 = 0x3FC00000, -2.25 = 0xC0100000, 100 = 0x42C80000;
// F16 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800; BF16 1.0 = 0x3F80, -3.0 = 0xC040.
TEST_F(Safetensors, ReadsAHandBuiltFile) {
  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                             R"("b":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},)"
                             R"("c":{"dtype":"BF16","shape":[2,1],"data_offsets":[22,26]}})";
  const std::vector<uint8_t> data = {0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x10, 0xC0,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC8, 0x42,
                                     0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38,  //
                                     0x80, 0x3F, 0x40, 0xC0};
  // Unpadded header: the data section starts at an odd offset here, so this also covers
  // tensors whose bytes are not aligned to their element size.
  const std::string p = write_raw("hand.safetensors", header, data);
  const Checkpoint ck = Checkpoint::open(p);
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b", "c"}));

  const torch::Tensor a = ck.get("a");  // [2, 2]
  ASSERT_EQ(a.scalar_type(), torch::kFloat32);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(a[0][0].item<float>(), 1.5f);
  EXPECT_EQ(a[0][1].item<float>(), -2.25f);
  EXPECT_EQ(a[1][0].item<float>(), 0.0f);
  EXPECT_EQ(a[1][1].item<float>(), 100.0f);

  const torch::Tensor b = ck.get("b").to(torch::kFloat32);  // [3]
  EXPECT_EQ(ck.info("b").dtype, torch::kFloat16);
  EXPECT_EQ(b[0].item<float>(), 1.0f);
  EXPECT_EQ(b[1].item<float>(), -2.0f);
  EXPECT_EQ(b[2].item<float>(), 0.5f);

  const torch::Tensor c = ck.get("c");  // [2, 1]
  EXPECT_EQ(c.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(c.sizes(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(c[0][0].item<float>(), 1.0f);
  EXPECT_EQ(c[1][0].item<float>(), -3.0f);

  // Elements must be aligned for ATen kernels, however the file places them.
  for (const auto& name : ck.names()) {
    const torch::Tensor t = ck.get(name);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % t.element_size(), 0u) << name;
  }
}

// An empty tensor at an unaligned offset takes the copying path with nothing to copy (UBSan
// flagged the copy into an empty tensor's null data pointer).
TEST_F(Safetensors, EmptyTensorAtAnUnalignedOffset) {
  std::string header = R"({"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                       R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[1,1]}})";
  header.append((4 - header.size() % 4) % 4, ' ');  // data at 8 + 4n: "e" at 4n + 9, unaligned
  const std::string p = write_raw("empty.safetensors", header, {7});
  const torch::Tensor e = Checkpoint::open(p).get("e");
  EXPECT_EQ(e.scalar_type(), torch::kFloat32);
  EXPECT_EQ(e.sizes(), (std::vector<int64_t>{0, 3}));
}

TEST_F(Safetensors, WriterPadsHeaderSortsNamesAndPacksData) {
  std::map<std::string, torch::Tensor> tensors = {{"zeta", torch::ones({3})},
                                                  {"alpha", torch::ones({2, 2}, torch::kBFloat16)},
                                                  {"mid", torch::ones({5}, torch::kFloat16)}};
  const std::string p = path("w.safetensors");
  write_safetensors(p, tensors, {{"format", "pt"}});

  std::ifstream in(p, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  const std::string header = bytes.substr(8, n);
  // Padding is spaces after the closing brace.
  EXPECT_EQ(header.find_first_not_of(' ', header.rfind('}') + 1), std::string::npos);
  EXPECT_LT(header.find("\"alpha\""), header.find("\"mid\""));
  EXPECT_LT(header.find("\"mid\""), header.find("\"zeta\""));

  const json j = json::parse(header);
  EXPECT_EQ(j["__metadata__"]["format"], "pt");
  // Contiguous in name order: alpha [0,8), mid [8,18), zeta [18,30), then end of file.
  EXPECT_EQ(j["alpha"]["data_offsets"], json({0, 8}));
  EXPECT_EQ(j["mid"]["data_offsets"], json({8, 18}));
  EXPECT_EQ(j["zeta"]["data_offsets"], json({18, 30}));
  EXPECT_EQ(j["alpha"]["dtype"], "BF16");
  EXPECT_EQ(j["mid"]["dtype"], "F16");
  EXPECT_EQ(j["zeta"]["shape"], json({3}));
  EXPECT_EQ(bytes.size(), 8 + n + 30);
  // No temp file left behind.
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(Safetensors, ShardedEqualsUnshardedAndIndexIsComplete) {
  torch::manual_seed(3);
  std::map<std::string, torch::Tensor> tensors;
  for (int i = 0; i < 9; ++i)  // equal sizes, so the split must be 3 + 3 + 3
    tensors["layers." + std::to_string(i) + ".w"] = torch::randn({4, 6});
  const std::string one = path("one"), three = path("three");
  write_checkpoint(one, tensors, 1);
  write_checkpoint(three, tensors, 3);

  std::vector<std::string> files;
  for (int s = 1; s <= 3; ++s) {
    files.push_back("model-0000" + std::to_string(s) + "-of-00003.safetensors");
    EXPECT_TRUE(fs::exists(fs::path(three) / files.back())) << files.back();
  }
  EXPECT_FALSE(fs::exists(fs::path(three) / "model.safetensors"));

  std::ifstream in(fs::path(three) / "model.safetensors.index.json");
  const json index = json::parse(in);
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), 9u * 4 * 6 * 4);
  const json& wm = index["weight_map"];
  ASSERT_EQ(wm.size(), tensors.size());
  std::map<std::string, int> per_file;
  for (const auto& [name, file] : wm.items()) {
    ASSERT_TRUE(tensors.count(name)) << name;
    per_file[file.get<std::string>()]++;
    // The shard named by the index really holds the tensor.
    EXPECT_TRUE(
        Checkpoint::open_file((fs::path(three) / file.get<std::string>()).string()).contains(name));
  }
  EXPECT_EQ(per_file, (std::map<std::string, int>{{files[0], 3}, {files[1], 3}, {files[2], 3}}));

  const Checkpoint a = Checkpoint::open(one), b = Checkpoint::open(three);
  EXPECT_EQ(a.names(), b.names());
  for (const auto& name : a.names()) {
    expect_same_bytes(a.get(name), b.get(name), name);
    expect_same_bytes(b.get(name), tensors.at(name), name);
    EXPECT_EQ(fs::path(b.info(name).file).filename().string(), wm[name].get<std::string>());
  }
}

TEST_F(Safetensors, ShardsAreBalancedByBytesAndNeverEmpty) {
  // One big tensor then small ones: every shard still gets at least one tensor.
  std::map<std::string, torch::Tensor> tensors = {{"a", torch::zeros({1000})},
                                                  {"b", torch::zeros({10})},
                                                  {"c", torch::zeros({10})},
                                                  {"d", torch::zeros({10})}};
  write_checkpoint(dir_, tensors, 3);
  const Checkpoint ck = Checkpoint::open(dir_);
  EXPECT_EQ(fs::path(ck.info("a").file).filename(), "model-00001-of-00003.safetensors");
  std::set<std::string> files;
  for (const auto& n : ck.names()) files.insert(ck.info(n).file);
  EXPECT_EQ(files.size(), 3u);

  // More shards than tensors: one shard per tensor.
  const std::string d2 = path("few");
  write_checkpoint(d2, {{"x", torch::ones({2})}, {"y", torch::ones({2})}}, 5);
  EXPECT_TRUE(fs::exists(fs::path(d2) / "model-00002-of-00002.safetensors"));
  EXPECT_EQ(Checkpoint::open(d2).names(), (std::vector<std::string>{"x", "y"}));
}

TEST_F(Safetensors, RewritingSwitchesBetweenSingleAndSharded) {
  write_checkpoint(dir_, {{"x", torch::ones({2})}, {"y", torch::ones({2})}}, 2);
  write_checkpoint(dir_, {{"x", torch::full({2}, 5.0)}}, 1);
  EXPECT_FALSE(fs::exists(path("model.safetensors.index.json")));
  EXPECT_EQ(Checkpoint::open(dir_).get("x")[0].item<float>(), 5.0f);
  write_checkpoint(dir_, {{"x", torch::full({2}, 6.0)}, {"y", torch::ones({2})}}, 2);
  EXPECT_FALSE(fs::exists(path("model.safetensors")));
  EXPECT_EQ(Checkpoint::open(dir_).get("x")[0].item<float>(), 6.0f);
}

TEST_F(Safetensors, PrefersModelSafetensorsOverIndex) {
  write_checkpoint(dir_, {{"x", torch::ones({2})}, {"y", torch::ones({2})}}, 2);
  write_safetensors(path("model.safetensors"), {{"only", torch::zeros({1})}});
  EXPECT_EQ(Checkpoint::open(dir_).names(), std::vector<std::string>{"only"});
  // The index can still be opened by naming it.
  EXPECT_EQ(Checkpoint::open(path("model.safetensors.index.json")).names().size(), 2u);
}

TEST_F(Safetensors, TensorsAliasTheMappingAndOutliveTheCheckpoint) {
  write_checkpoint(dir_, {{"w", torch::arange(12, torch::kFloat32).reshape({3, 4})}});
  torch::Tensor kept;
  {
    const Checkpoint ck = Checkpoint::open(dir_);
    kept = ck.get("w");
    // Zero-copy: two gets see the same bytes.
    EXPECT_EQ(ck.get("w").data_ptr(), kept.data_ptr());
  }
  EXPECT_EQ(kept[2][3].item<float>(), 11.0f);  // Checkpoint gone, mapping still alive
  kept.mul_(2);                                // private mapping: the file is untouched
  EXPECT_EQ(kept[2][3].item<float>(), 22.0f);
  EXPECT_EQ(Checkpoint::open(dir_).get("w")[2][3].item<float>(), 11.0f);
}

TEST_F(Safetensors, NonFloatDtypeIsListedButRefusedByGet) {
  const std::string p = write_raw(
      "ints.safetensors",
      R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},)"
      R"("w":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}})",
      std::vector<uint8_t>(20, 0));
  const Checkpoint ck = Checkpoint::open_file(p);
  EXPECT_TRUE(ck.contains("ids"));
  EXPECT_EQ(ck.info("ids").st_dtype, "I64");
  EXPECT_EQ(ck.get("w")[0].item<float>(), 0.0f);
  const std::string msg = error_of([&] { ck.get("ids"); });
  EXPECT_THAT(msg, HasSubstr(p));
  EXPECT_THAT(msg, HasSubstr("'ids'"));
  EXPECT_THAT(msg, HasSubstr("I64"));
  EXPECT_THAT(error_of([&] { ck.get("nope"); }), HasSubstr("'nope'"));
}

// Each corrupt header: the message names the file and the offending tensor or field.
struct BadCase {
  const char* label;
  std::string header;
  size_t data_bytes;
  std::vector<std::string> expect;  // substrings besides the file name
};

TEST_F(Safetensors, BadHeadersAreModelLoadErrorsNamingFileAndField) {
  const std::string f4 = R"("dtype":"F32","shape":[2])";
  // clang-format off
  const std::vector<BadCase> cases = {
      {"not json", "{\"w\": ", 0, {"not valid JSON"}},
      {"not object", "[1, 2]", 0, {"not an object"}},
      {"entry not object", R"({"w": 3})", 0, {"'w'", "not an object"}},
      {"no dtype", R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8, {"'w'", "dtype"}},
      {"no shape", R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", 8, {"'w'", "shape"}},
      {"no offsets", R"({"w":{"dtype":"F32","shape":[2]}})", 8, {"'w'", "data_offsets"}},
      {"dtype type", R"({"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", 8, {"'w'", "dtype"}},
      {"unknown dtype", R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8, {"'w'", "Q4"}},
      {"shape type", R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", 8, {"'w'", "shape"}},
      {"negative dim", R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, {"'w'", "shape"}},
      {"float dim", R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8, {"'w'", "shape"}},
      {"offsets short", "{\"w\":{" + f4 + R"(,"data_offsets":[8]}})", 8, {"'w'", "data_offsets"}},
      {"offsets type", "{\"w\":{" + f4 + R"(,"data_offsets":["0",8]}})", 8, {"'w'", "data_offsets"}},
      {"begin > end", "{\"w\":{" + f4 + R"(,"data_offsets":[8,0]}})", 8, {"'w'", "begin > end"}},
      {"past data", "{\"w\":{" + f4 + R"(,"data_offsets":[0,8]}})", 4, {"'w'", "out of range"}},
      {"size mismatch", "{\"w\":{" + f4 + R"(,"data_offsets":[0,12]}})", 12,
       {"'w'", "needs 8 bytes", "12"}},
      {"overlap", "{\"v\":{" + f4 + R"(,"data_offsets":[0,8]},"w":{)" + f4 +
                  R"(,"data_offsets":[4,12]}})", 12, {"'w'", "overlap", "'v'"}},
      {"metadata not strings", R"({"__metadata__":{"format":1}})", 0, {"__metadata__", "format"}},
      {"duplicate", "{\"w\":{" + f4 + R"(,"data_offsets":[0,8]},"w":{)" + f4 +
                    R"(,"data_offsets":[0,8]}})", 8, {"'w'", "twice"}},
  };
  // clang-format on
  int i = 0;
  for (const auto& c : cases) {
    const std::string p = write_raw("bad" + std::to_string(i++) + ".safetensors", c.header,
                                    std::vector<uint8_t>(c.data_bytes, 0));
    const std::string msg = error_of([&] { Checkpoint::open_file(p); });
    EXPECT_THAT(msg, HasSubstr(p)) << c.label;
    for (const auto& s : c.expect) EXPECT_THAT(msg, HasSubstr(s)) << c.label;
  }
}

TEST_F(Safetensors, TruncatedFilesAreModelLoadErrors) {
  const std::string tiny = path("tiny.safetensors");
  std::ofstream(tiny, std::ios::binary) << "abcde";
  EXPECT_THAT(error_of([&] { Checkpoint::open_file(tiny); }), HasSubstr(tiny));
  EXPECT_THAT(error_of([&] { Checkpoint::open_file(tiny); }), HasSubstr("5 bytes"));

  const std::string past = write_raw("past.safetensors", "{}", {}, 1000);
  EXPECT_THAT(error_of([&] { Checkpoint::open_file(past); }), HasSubstr(past));
  EXPECT_THAT(error_of([&] { Checkpoint::open_file(past); }), HasSubstr("header length 1000"));

  const std::string huge = write_raw("huge.safetensors", "{}", {}, int64_t{1} << 62);
  EXPECT_THAT(error_of([&] { Checkpoint::open_file(huge); }), HasSubstr(huge));
  EXPECT_THAT(error_of([&] { Checkpoint::open_file(huge); }), HasSubstr("exceeds the limit"));

  // A real file cut short: the last tensor's offsets now run past the data section.
  write_checkpoint(path("cut"), {{"a", torch::ones({4})}, {"b", torch::ones({4})}});
  const std::string cut = path("cut/model.safetensors");
  fs::resize_file(cut, fs::file_size(cut) - 4);
  const std::string msg = error_of([&] { Checkpoint::open(path("cut")); });
  EXPECT_THAT(msg, HasSubstr(cut));
  EXPECT_THAT(msg, HasSubstr("'b'"));
}

TEST_F(Safetensors, BadIndexFilesAreModelLoadErrors) {
  write_checkpoint(dir_, {{"x", torch::ones({2})}, {"y", torch::ones({2})}}, 2);
  const std::string index = path("model.safetensors.index.json");
  auto with_index = [&](const std::string& text) {
    std::ofstream(index) << text;
    return error_of([&] { Checkpoint::open(dir_); });
  };
  EXPECT_THAT(with_index("{\"weight_map\": "), HasSubstr(index));
  EXPECT_THAT(with_index("{\"weight_map\": "), HasSubstr("not valid JSON"));
  EXPECT_THAT(with_index("[]"), HasSubstr("not a JSON object"));
  EXPECT_THAT(with_index(R"({"metadata":{}})"), HasSubstr("weight_map"));
  EXPECT_THAT(with_index(R"({"weight_map":{"x":3}})"), HasSubstr("'x'"));

  std::string msg = with_index(R"({"weight_map":{"x":"model-00009-of-00009.safetensors"}})");
  EXPECT_THAT(msg, HasSubstr(index));
  EXPECT_THAT(msg, HasSubstr("'x'"));
  EXPECT_THAT(msg, HasSubstr("model-00009-of-00009.safetensors"));
  EXPECT_THAT(msg, HasSubstr("does not exist"));

  msg = with_index(R"({"weight_map":{"x":"model-00002-of-00002.safetensors"}})");
  EXPECT_THAT(msg, HasSubstr(index));
  EXPECT_THAT(msg, HasSubstr("'x'"));
  EXPECT_THAT(msg, HasSubstr("does not hold it"));

  // A corrupt shard is reported with the shard's own name.
  with_index(R"({"weight_map":{"x":"model-00001-of-00002.safetensors"}})");
  fs::resize_file(path("model-00001-of-00002.safetensors"), 3);
  EXPECT_THAT(error_of([&] { Checkpoint::open(dir_); }),
              HasSubstr("model-00001-of-00002.safetensors"));
}

TEST_F(Safetensors, PickleCheckpointIsRefusedWithConversionHint) {
  std::ofstream(path("pytorch_model.bin")) << "PK";
  const std::string msg = error_of([&] { Checkpoint::open(dir_); });
  EXPECT_THAT(msg, HasSubstr(path("pytorch_model.bin")));
  EXPECT_THAT(msg, HasSubstr("pickle"));
  EXPECT_THAT(msg, HasSubstr("safe_serialization=True"));
}

TEST_F(Safetensors, MissingOrEmptyDirectorySaysWhatWasLookedFor) {
  std::string msg = error_of([&] { Checkpoint::open(dir_); });
  EXPECT_THAT(msg, HasSubstr(dir_));
  EXPECT_THAT(msg, HasSubstr("model.safetensors"));
  EXPECT_THAT(msg, HasSubstr("model.safetensors.index.json"));

  msg = error_of([&] { Checkpoint::open(path("absent")); });
  EXPECT_THAT(msg, HasSubstr(path("absent")));
  EXPECT_THAT(msg, HasSubstr("does not exist"));
}

TEST_F(Safetensors, WriterRefusesUnsupportedDtypeAndLeavesNoFile) {
  const std::string msg = error_of([&] {
    write_checkpoint(dir_, {{"ok", torch::ones({2})}, {"ids", torch::ones({2}, torch::kInt64)}});
  });
  EXPECT_THAT(msg, HasSubstr("'ids'"));
  EXPECT_THAT(msg, HasSubstr(path("model.safetensors")));
  EXPECT_TRUE(fs::is_empty(dir_));
  EXPECT_THAT(error_of([&] {
                write_checkpoint(dir_, {{"x", torch::ones({1})}}, 0);
              }),
              HasSubstr("shards"));
}

}  // namespace
}  // namespace crammer
