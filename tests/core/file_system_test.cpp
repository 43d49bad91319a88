// The POSIX file system on a real directory: it keeps the file it appends to open between
// appends, so what matters is that no other change leaves that descriptor writing somewhere stale.
#include "holdfast/file_system.hpp"

#include "../support/scratch_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace holdfast {
namespace {

namespace fs = std::filesystem;

class posix_file_system_test : public ::testing::Test {
protected:
    std::string path(const char* name) const { return (root_ / name).string(); }
    /// The file's bytes as another process would read them (not through the file system under test).
    static std::string on_disk(const std::string& file) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }

    testing::scratch_dir scratch_{"holdfast-fs"};
    const fs::path root_ = scratch_.path();
    posix_file_system files_;
};

TEST_F(posix_file_system_test, appends_to_one_file_land_in_order_and_are_visible_at_once) {
    ASSERT_TRUE(files_.append(path("seg"), "one,"));
    EXPECT_EQ(on_disk(path("seg")), "one,");
    ASSERT_TRUE(files_.append(path("seg"), "two,"));
    ASSERT_TRUE(files_.append(path("other"), "x"));
    ASSERT_TRUE(files_.append(path("seg"), "three"));
    EXPECT_EQ(on_disk(path("seg")), "one,two,three");
    EXPECT_EQ(files_.read(path("seg")).value(), "one,two,three");
    EXPECT_EQ(on_disk(path("other")), "x");
}

TEST_F(posix_file_system_test, an_append_after_the_file_was_removed_creates_it_afresh) {
    ASSERT_TRUE(files_.append(path("seg"), "old"));
    ASSERT_TRUE(files_.remove(path("seg")));
    EXPECT_FALSE(fs::exists(path("seg")));
    ASSERT_TRUE(files_.append(path("seg"), "new"));
    EXPECT_EQ(on_disk(path("seg")), "new") << "an append through a descriptor of the removed file would be lost";
}

TEST_F(posix_file_system_test, an_append_after_its_directory_was_removed_fails_clearly) {
    fs::create_directories(root_ / "dir");
    const std::string file = (root_ / "dir" / "seg").string();
    ASSERT_TRUE(files_.append(file, "old"));
    ASSERT_TRUE(files_.remove((root_ / "dir").string()));
    const auto appended = files_.append(file, "new");
    ASSERT_FALSE(appended);
    EXPECT_EQ(appended.err().code, errc::store_failure);
    EXPECT_NE(appended.err().detail.find("no such file"), std::string::npos) << appended.err().detail;
}

TEST_F(posix_file_system_test, appends_after_a_truncation_continue_from_the_cut) {
    ASSERT_TRUE(files_.append(path("seg"), "keep|torn"));
    ASSERT_TRUE(files_.truncate(path("seg"), 5));
    ASSERT_TRUE(files_.append(path("seg"), "next"));
    EXPECT_EQ(on_disk(path("seg")), "keep|next");
}

TEST_F(posix_file_system_test, appends_after_the_file_was_replaced_go_to_the_new_content) {
    ASSERT_TRUE(files_.append(path("seg"), "old"));
    ASSERT_TRUE(files_.write(path("seg"), "replaced|"));
    ASSERT_TRUE(files_.append(path("seg"), "more"));
    EXPECT_EQ(on_disk(path("seg")), "replaced|more") << "the descriptor of the file renamed over would write to an orphan";
}

TEST_F(posix_file_system_test, bytes_written_by_someone_else_stay_before_the_next_append) {
    ASSERT_TRUE(files_.append(path("seg"), "a"));
    std::ofstream(path("seg"), std::ios::binary | std::ios::app) << "b";
    ASSERT_TRUE(files_.append(path("seg"), "c"));
    EXPECT_EQ(on_disk(path("seg")), "abc");
}

TEST_F(posix_file_system_test, with_tracking_every_path_created_changed_or_removed_is_reported_once) {
    ASSERT_TRUE(files_.append(path("untracked"), "x"));
    files_.track_changes(true);
    ASSERT_TRUE(files_.make_dirs(path("a/b")));
    ASSERT_TRUE(files_.append(path("a/b/seg"), "1"));
    ASSERT_TRUE(files_.append(path("a/b/seg"), "2"));
    ASSERT_TRUE(files_.write(path("a/meta"), "m"));
    ASSERT_TRUE(files_.append(path("gone"), "g"));
    ASSERT_TRUE(files_.remove(path("gone")));
    const std::vector<std::string> expected{path("a"), path("a/b"), path("a/b/seg"), path("a/meta"), path("a/meta.tmp"),
                                            path("gone")};
    EXPECT_EQ(files_.take_changed_paths(), expected) << "sorted: a directory before what it holds";
    EXPECT_TRUE(files_.take_changed_paths().empty()) << "taken once";

    ASSERT_TRUE(files_.append(path("a/b/seg"), "3"));  // the same open file as before the take
    ASSERT_TRUE(files_.truncate(path("a/meta"), 0));
    ASSERT_TRUE(files_.remove(path("a")));
    const std::vector<std::string> after{path("a"), path("a/b"), path("a/b/seg"), path("a/meta")};
    EXPECT_EQ(files_.take_changed_paths(), after) << "a removed directory reports everything it held";
}

TEST_F(posix_file_system_test, without_tracking_nothing_is_kept) {
    ASSERT_TRUE(files_.append(path("seg"), "x"));
    ASSERT_TRUE(files_.write(path("meta"), "m"));
    EXPECT_TRUE(files_.take_changed_paths().empty());
}

} // namespace
} // namespace holdfast
