// A C++17 program that uses an installed libkvault together with RocksDB's
// own C API, as a service embedding kvault would. Including both <kvault.h>
// and <rocksdb/c.h> checks that kvault.h's forward declarations of RocksDB's
// handle types agree with RocksDB's (a mismatch does not compile), and
// passing a handle from rocksdb_open() to kvault_backup_live() uses them.
//
// In a new temporary directory it: puts, stats, gets and removes an object
// in a local store; writes 2000 keys into a RocksDB database (half flushed to
// an SST file, half only in the WAL) and backs it up live with
// kvault_backup_live(); lists the backups; restores the latest into a new
// directory; opens that read-only and reads the first and the last key back.
// Options are passed as NULL wherever the API allows it. Exit status 0 only if
// all of that worked.
#include <kvault.h>
#include <rocksdb/c.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace fs = std::filesystem;

static_assert(std::is_same_v<decltype(kvault_db_options::options), rocksdb_options_t *>,
              "kvault_db_options carries RocksDB's own options type");

namespace {

constexpr int kKeys = 2000;

void check(int rc, const char *what)
{
    if (rc != KV_OK)
        throw std::runtime_error(std::string(what) + " failed (" + std::to_string(rc) +
                                 "): " + kvault_errmsg());
}

void check_rocks(char *err, const char *what)
{
    if (err) {
        std::string msg = std::string(what) + ": " + err;
        rocksdb_free(err);
        throw std::runtime_error(msg);
    }
}

void expect(bool ok, const std::string &what)
{
    if (!ok)
        throw std::runtime_error(what);
}

std::string key_of(int i)
{
    char k[32];
    std::snprintf(k, sizeof k, "key-%06d", i);
    return k;
}

std::string value_of(int i)
{
    return "value of " + key_of(i) + std::string(64, static_cast<char>('a' + i % 26));
}

struct KvaultCloser {
    void operator()(kvault *kv) const { kvault_close(kv); }
};
using Kvault = std::unique_ptr<kvault, KvaultCloser>;

struct RocksOptions {
    rocksdb_options_t *p = rocksdb_options_create();
    ~RocksOptions() { rocksdb_options_destroy(p); }
};

struct RocksDb {
    rocksdb_t *p = nullptr;
    ~RocksDb()
    {
        if (p)
            rocksdb_close(p);
    }
};

void objects(kvault *kv, const fs::path &dir)
{
    const std::string data(123457, 'k');
    const char *key = "install-check/cpp.bin";
    {
        std::ofstream out(dir / "in.bin", std::ios::binary);
        out << data;
    }
    check(kvault_put_file(kv, (dir / "in.bin").c_str(), key), "kvault_put_file");
    kvault_object obj{};
    check(kvault_stat(kv, key, &obj), "kvault_stat");
    std::unique_ptr<char, decltype(&kvault_free)> owned_key(obj.key, &kvault_free);
    expect(obj.size == data.size() && owned_key && std::strcmp(owned_key.get(), key) == 0,
           "kvault_stat: wrong size or key");
    check(kvault_get_file(kv, key, (dir / "out.bin").c_str()), "kvault_get_file");
    std::ifstream in(dir / "out.bin", std::ios::binary);
    const std::string back{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    expect(back == data, "kvault_get_file: the copy differs from the upload");
    check(kvault_rm(kv, key), "kvault_rm");
}

void live_backup_and_restore(kvault *kv, const fs::path &dir)
{
    const fs::path db_dir = dir / "db", restored = dir / "restored";
    kvault_backup_info made{};
    {
        RocksOptions opts;
        rocksdb_options_set_create_if_missing(opts.p, 1);
        RocksDb db;
        char *err = nullptr;
        db.p = rocksdb_open(opts.p, db_dir.c_str(), &err);
        check_rocks(err, "rocksdb_open");
        rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
        for (int i = 0; i < kKeys && !err; i++) {
            if (i == kKeys / 2) {
                rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
                rocksdb_flush(db.p, fo, &err);
                rocksdb_flushoptions_destroy(fo);
                if (err)
                    break;
            }
            const std::string k = key_of(i), v = value_of(i);
            rocksdb_put(db.p, wo, k.data(), k.size(), v.data(), v.size(), &err);
        }
        rocksdb_writeoptions_destroy(wo);
        check_rocks(err, "writing the database");
        // The database stays open and usable while kvault backs it up.
        check(kvault_backup_live(kv, db.p, db_dir.c_str(), nullptr, &made), "kvault_backup_live");
        expect(made.files > 0 && made.bytes > 0, "kvault_backup_live reported an empty backup");
    }

    kvault_backup_info *list = nullptr;
    size_t count = 0;
    check(kvault_list(kv, nullptr, &list, &count), "kvault_list");
    std::unique_ptr<kvault_backup_info, decltype(&kvault_free)> owned_list(list, &kvault_free);
    expect(count == 1 && std::strcmp(list[0].id, made.id) == 0,
           "kvault_list does not list exactly the backup just made");

    kvault_backup_info got{};
    check(kvault_restore(kv, nullptr, restored.c_str(), &got), "kvault_restore");
    expect(std::strcmp(got.id, made.id) == 0, "kvault_restore restored another backup");

    RocksOptions opts;
    RocksDb db;
    char *err = nullptr;
    db.p = rocksdb_open_for_read_only(opts.p, restored.c_str(), 0, &err);
    check_rocks(err, "opening the restored database");
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    for (int i : {0, kKeys - 1}) {
        const std::string k = key_of(i);
        size_t len = 0;
        char *v = rocksdb_get(db.p, ro, k.data(), k.size(), &len, &err);
        const bool same = !err && v && std::string(v, len) == value_of(i);
        rocksdb_free(v);
        if (!same) {
            rocksdb_readoptions_destroy(ro);
            check_rocks(err, "reading the restored database");
            throw std::runtime_error("the restored database lacks " + k + " or its value");
        }
    }
    rocksdb_readoptions_destroy(ro);
    std::printf("consumer (C++): backup %s of a live database (%llu files), listed, restored, "
                "keys read back: ok\n",
                made.id, static_cast<unsigned long long>(made.files));
}

} // namespace

int main()
{
    const char *tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/kvault-consumer-cpp.XXXXXX";
    if (!mkdtemp(templ.data())) {
        std::perror("consumer (C++): mkdtemp");
        return 1;
    }
    const fs::path dir = templ;
    int rc = 0;
    try {
        Kvault kv;
        kvault *raw = nullptr;
        check(kvault_open((dir / "store").c_str(), nullptr, &raw), "kvault_open");
        kv.reset(raw);
        objects(kv.get(), dir);
        std::printf("consumer (C++): kvault %s: put, stat, get and rm: ok\n", KVAULT_VERSION);
        live_backup_and_restore(kv.get(), dir);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "consumer (C++): %s\n", e.what());
        rc = 1;
    }
    fs::remove_all(dir);
    return rc;
}
