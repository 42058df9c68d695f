"""The archive at scale (issue 17): study list, name search, sort, C-FIND and series
metadata at 1k / 10k / 100k studies, on PostgreSQL and on SQLite, side by side.

Generates the index rows of an archive (patients, studies, series, instances; no files,
nothing measured opens one; geometry only for the series whose metadata is asked)
straight into a fresh database with the ORM's ``bulk_create``, from a fixed seed: names
Latin, pinyin with their Han form, Japanese and Korean, caret-separated; IDs; dates over
20 years; 10 instances a study on average, and one study with a 1,000-image series.
The database grows from one size to the next, a copy is kept at each (on PostgreSQL
after a VACUUM ANALYZE, as autovacuum would), and the copies are then measured in turn,
``--passes`` times, so the machine's load falls on every size alike; each measurement
in a fresh process, whose peak RSS is the serving process's at that size. Measured,
through Django's test client signed in (middleware, audit and all): the study list
page ``/``, the JSON study list searched by a patient's name (Latin, and ideographic
without carets), the page sorted by date and by name, C-FIND through our SCP's
``responses()`` consumed, by Patient ID and by a one-month date range, and the
1,000-image series' metadata. ``--without-index`` also measures a copy of the largest
size with those indexes dropped: the before and after of an index on the same rows.

    .venv/bin/python bench/archive_scale.py [--sizes 1000,10000,100000] [--quick]
        [--backends postgresql,sqlite] [--passes 3] [--rounds 5] [--explain]
        [--without-index viewer_patient_id_upper,viewer_patient_name_trgm,...]

PostgreSQL: databases ``pacsweb_scale`` and ``pacsweb_scale_<size>`` are created on
``--postgres`` (default postgres://postgres@127.0.0.1:5432, trust auth) and dropped at
the end. ``--explain`` prints PostgreSQL's plan of every archive query on stderr.
"""

import argparse
import datetime
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHUNK = 1000  # studies generated from one seed of their own: sizes are multiples of it
UID_ROOT = "1.2.826.0.1.3680043.8.498.17"
FIRST_DAY = datetime.date(2006, 1, 1)
DAYS = 20 * 365
BIG_SERIES = 1000
DATE_RANGE = ("20160101", "20160131")  # one month, in the middle of the 20 years

# Latin family names from two syllables (600), given names (20): a full name is
# shared by a few patients at 100k studies, a family name by many.
LATIN = (
    ["BRAN", "CAR", "DEL", "FER", "GAR", "HOL", "KEL", "LAN", "MAR", "NOR"]
    + ["OST", "PAR", "QUIN", "ROS", "SAL", "TAL", "VAN", "WIL", "BER", "COR"]
    + ["DAR", "EL", "FOR", "GOR", "HAR", "LIN", "MOR", "PEN", "SOM", "TOR"],
    ["DSON", "TER", "MAN", "LEY", "SEN", "TON", "BERG", "WELL", "FORD", "RIS"]
    + ["DAL", "NER", "SON", "VIK", "MONT", "EAU", "INI", "OVA", "EZ", "ING"],
    ["JOHN", "MARY", "JAMES", "ANNA", "PETER", "MARIA", "DAVID", "ELENA", "PAUL", "SARA"]
    + ["LUCA", "EMMA", "JAN", "EVA", "KARL", "IDA", "OMAR", "LEA", "IVAN", "NORA"],
)
# Pinyin with its Han character: 20 family names, given names of one or two of 40.
CHINESE = (
    [("Wang", "王"), ("Li", "李"), ("Zhang", "张"), ("Liu", "刘"), ("Chen", "陈")]
    + [("Yang", "杨"), ("Huang", "黄"), ("Zhao", "赵"), ("Wu", "吴"), ("Zhou", "周")]
    + [("Xu", "徐"), ("Sun", "孙"), ("Ma", "马"), ("Zhu", "朱"), ("Hu", "胡")]
    + [("Guo", "郭"), ("He", "何"), ("Gao", "高"), ("Lin", "林"), ("Luo", "罗")],
    [("Wei", "伟"), ("Fang", "芳"), ("Na", "娜"), ("Xiu", "秀"), ("Ying", "英")]
    + [("Min", "敏"), ("Jing", "静"), ("Li", "丽"), ("Qiang", "强"), ("Lei", "磊")]
    + [("Xiao", "小"), ("Dong", "东"), ("Jun", "军"), ("Yang", "洋"), ("Yong", "勇")]
    + [("Yan", "艳"), ("Jie", "杰"), ("Juan", "娟"), ("Tao", "涛"), ("Ming", "明")]
    + [("Chao", "超"), ("Xia", "霞"), ("Ping", "平"), ("Gang", "刚"), ("Gui", "桂")]
    + [("Hua", "华"), ("Hong", "红"), ("Hui", "慧"), ("Bo", "波"), ("Ning", "宁")]
    + [("Hao", "浩"), ("Yu", "宇"), ("Xin", "欣"), ("Lan", "兰"), ("Feng", "峰")]
    + [("Kai", "凯"), ("Rui", "瑞"), ("Zhen", "珍"), ("Hai", "海"), ("Shan", "山")],
)
JAPANESE = (
    [("Yamada", "山田", "やまだ"), ("Tanaka", "田中", "たなか"), ("Sato", "佐藤", "さとう")]
    + [("Suzuki", "鈴木", "すずき"), ("Ito", "伊藤", "いとう"), ("Kato", "加藤", "かとう")],
    [("Taro", "太郎", "たろう"), ("Hanako", "花子", "はなこ"), ("Ken", "健", "けん")]
    + [("Yuki", "由紀", "ゆき"), ("Haruto", "陽翔", "はると"), ("Aoi", "葵", "あおい")],
)
KOREAN = (
    [("Kim", "김"), ("Lee", "이"), ("Park", "박"), ("Choi", "최"), ("Jung", "정")],
    [("Minjun", "민준"), ("Seoyeon", "서연"), ("Jiho", "지호"), ("Hayun", "하윤")]
    + [("Doyun", "도윤"), ("Seojun", "서준"), ("Jiwoo", "지우"), ("Yerin", "예린")],
)
MODALITIES = [("CT", 30), ("MR", 20), ("CR", 20), ("DX", 10), ("US", 10), ("MG", 5), ("PT", 5)]
DESCRIPTIONS = ["CHEST", "ABDOMEN", "HEAD", "SPINE", "KNEE", "PELVIS", "NECK", "BREAST"]
SOP_CLASS = "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage: the class is not what counts


def patient_name(rng: random.Random) -> str:
    """A caret-separated name: Latin, or pinyin=Han, or Japanese with its three groups."""
    pick = rng.random()
    if pick < 0.45:
        family = rng.choice(LATIN[0]) + rng.choice(LATIN[1])
        return f"{family}^{rng.choice(LATIN[2])}"
    if pick < 0.85:
        family, han_f = rng.choice(CHINESE[0])
        given = rng.sample(CHINESE[1], rng.choice((1, 2, 2)))
        pinyin, han_g = "".join(p for p, _ in given), "".join(h for _, h in given)
        return f"{family}^{pinyin}={han_f}^{han_g}"
    if pick < 0.93:
        (family, kf, pf), (given, kg, pg) = rng.choice(JAPANESE[0]), rng.choice(JAPANESE[1])
        return f"{family}^{given}={kf}^{kg}={pf}^{pg}"
    (family, hf), (given, hg) = rng.choice(KOREAN[0]), rng.choice(KOREAN[1])
    return f"{family}^{given}={hf}^{hg}"


def chunk_rows(seed: int, chunk: int) -> list[dict]:
    """The studies of one chunk as plain dicts, from this chunk's own seed.

    The same (seed, chunk) always gives the same rows, so an archive grown chunk by
    chunk is the same whatever sizes it was measured at.
    """
    rng = random.Random(f"{seed}-{chunk}")
    patients = []
    for n in range(CHUNK * 2 // 3):
        birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(30000))
        patients.append(
            {
                "patient_id": f"P{chunk:04d}{n:04d}",
                "patient_name": patient_name(rng),
                "birth_date": birth,
                "sex": rng.choice("MF"),
            }
        )
    modalities, weights = zip(*MODALITIES, strict=True)
    studies = []
    for n in range(CHUNK):
        number = chunk * CHUNK + n
        patient = patients[n] if n < len(patients) else rng.choice(patients)
        day = FIRST_DAY + datetime.timedelta(days=rng.randrange(DAYS))
        modality = rng.choices(modalities, weights)[0]
        total = max(1, round(rng.expovariate(1 / 10)))
        counts = _split(rng, total, rng.randint(1, min(4, total)))
        if number == 0:
            counts = [BIG_SERIES, *counts]
        studies.append(
            {
                "number": number,
                "patient": patient,
                "study_date": day,
                "study_time": f"{rng.randrange(7, 20):02d}{rng.randrange(60):02d}00",
                "accession_number": f"A{number:08d}",
                "description": f"{modality} {rng.choice(DESCRIPTIONS)}",
                "modality": modality,
                "series": counts,
            }
        )
    return studies


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def _geometry(sop_uid: str, number: int, frame_of_reference: str) -> dict:
    from viewer.imaging.geometry import Geometry

    return Geometry(
        sop_instance_uid=sop_uid,
        instance_number=number,
        frames=1,
        rows=16,
        columns=16,
        position=[-100.0, -100.0, -number * 1.0],
        orientation=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        pixel_spacing=[0.7, 0.7],
        spacing_is_at_detector=False,
        slice_thickness=1.0,
        frame_of_reference_uid=frame_of_reference,
        windows=[{"center": 40.0, "width": 400.0}],
    ).as_dict()


def generate(seed: int, size: int) -> int:
    """Grow the archive to ``size`` studies; the number of instances written."""
    from django.db import connection, transaction

    from viewer.archive.models import Instance, Patient, Series, Study
    from viewer.archive.search import normalize_name

    have = Study.objects.count()
    written = 0
    for chunk in range(have // CHUNK, size // CHUNK):
        studies = chunk_rows(seed, chunk)
        with transaction.atomic():
            patients = {id(row["patient"]): row["patient"] for row in studies}
            made = Patient.objects.bulk_create(
                Patient(
                    patient_key=f"id:|{p['patient_id']}",
                    name_search=normalize_name(p["patient_name"]),
                    **p,
                )
                for p in patients.values()
            )
            by_id = {p.patient_id: p for p in made}
            study_objects = Study.objects.bulk_create(
                (
                    Study(
                        study_uid=f"{UID_ROOT}.1.{row['number']}",
                        patient=by_id[row["patient"]["patient_id"]],
                        study_date=row["study_date"],
                        study_time=row["study_time"],
                        accession_number=row["accession_number"],
                        study_id=str(row["number"] % 10000),
                        description=row["description"],
                        modalities=row["modality"],
                        num_series=len(row["series"]),
                        num_instances=sum(row["series"]),
                    )
                    for row in studies
                ),
                batch_size=500,
            )
            series_objects, sizes = [], []
            for study, row in zip(study_objects, studies, strict=True):
                for number, count in enumerate(row["series"], start=1):
                    series_objects.append(
                        Series(
                            series_uid=f"{UID_ROOT}.2.{row['number']}.{number}",
                            study=study,
                            modality=row["modality"],
                            series_number=number,
                            description=f"Series {number}",
                            frame_of_reference_uid=f"{UID_ROOT}.4.{row['number']}",
                            num_instances=count,
                        )
                    )
                    sizes.append(count)
            series_objects = Series.objects.bulk_create(series_objects, batch_size=1000)
            instances = []
            for series, count in zip(series_objects, sizes, strict=True):
                for number in range(1, count + 1):
                    sop_uid = f"{series.series_uid.replace('.2.', '.3.', 1)}.{number}"
                    instances.append(
                        Instance(
                            sop_instance_uid=sop_uid,
                            series=series,
                            sop_class_uid=SOP_CLASS,
                            instance_number=number,
                            transfer_syntax_uid="1.2.840.10008.1.2.1",
                            rows=16,
                            columns=16,
                            file_path=f"nowhere/{sop_uid}.dcm",
                            file_size=1024,
                            # Only the measured series' geometry: the rest is never read.
                            geometry=_geometry(sop_uid, number, series.frame_of_reference_uid)
                            if count == BIG_SERIES
                            else None,
                        )
                    )
            Instance.objects.bulk_create(instances, batch_size=2000)
            written += len(instances)
    if connection.vendor == "postgresql":
        # What autovacuum does some time after a bulk load, done now so that every run
        # is measured with statistics and a visibility map.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return written


def _times_ms(call, rounds: int) -> list[float]:
    call()  # first call of its kind: imports, URL resolvers, templates, plan caches
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _identifier(**keys):
    from pydicom.dataset import Dataset

    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate"):
        setattr(identifier, keyword, "")
    for keyword in ("AccessionNumber", "ModalitiesInStudy", "NumberOfStudyRelatedInstances"):
        setattr(identifier, keyword, "")
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    return identifier


def measure(seed: int, rounds: int, explain: bool) -> dict:
    """Time each operation on the archive as it is; the results and this process's RSS."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from viewer.archive.models import Instance, Series, Study
    from viewer.nodes.qr import matches, responses

    first = chunk_rows(seed, 0)
    latin = next(r["patient"] for r in first if "=" not in r["patient"]["patient_name"])
    chinese = next(r["patient"] for r in first if "=" in r["patient"]["patient_name"])
    han = "".join(chinese["patient_name"].split("=")[1].split("^"))  # as "王小东": no caret
    big = Series.objects.get(series_uid=f"{UID_ROOT}.2.0.1")
    client = Client(HTTP_HOST="localhost")
    user, _ = get_user_model().objects.get_or_create(username="bench-scale")
    client.force_login(user)

    def page(url: str, rows_key: str | None = None):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if rows_key:
                assert response.json()[rows_key], url

        return call

    def c_find(identifier):
        found = []

        def call():
            found[:] = [len(list(responses(identifier)))]

        return call, found

    identifiers = {
        "C-FIND by Patient ID": _identifier(PatientID=latin["patient_id"]),
        "C-FIND by date, 1 month": _identifier(StudyDate="-".join(DATE_RANGE)),
    }
    by_id, by_id_found = c_find(identifiers["C-FIND by Patient ID"])
    by_date, by_date_found = c_find(identifiers["C-FIND by date, 1 month"])
    name = latin["patient_name"]
    metadata = f"/api/studies/{big.study.study_uid}/series/{big.series_uid}/metadata/"
    operations = {
        "study list page /": page("/"),
        f"name search {name!r}": page(f"/api/studies/?patient_name={name}", "studies"),
        f"name search {han!r}": page(f"/api/studies/?patient_name={han}", "studies"),
        "date sort, oldest first": page("/?sort=study_date"),
        "name sort": page("/?sort=patient_name"),
        "C-FIND by Patient ID": by_id,
        "C-FIND by date, 1 month": by_date,
        "series metadata, 1,000 images": page(metadata, "instances"),
    }
    results = {label: _times_ms(call, rounds) for label, call in operations.items()}
    counts = {
        "studies": Study.objects.count(),
        "instances": Instance.objects.count(),
        "C-FIND by date, 1 month, matches": by_date_found[0],
        "C-FIND by Patient ID, matches": by_id_found[0],
    }
    if explain and connection.vendor == "postgresql":
        _explain(operations, connection)
        for label, identifier in identifiers.items():
            # responses() reads through a server-side cursor, which no capture sees.
            plan = matches(identifier).explain(analyze=True)
            print(f"--- {label}\n{plan}", file=sys.stderr)
    # ru_maxrss is in KiB on Linux.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"ms": results, "counts": counts, "rss_mib": rss}


def _explain(operations: dict, connection) -> None:
    """EXPLAIN ANALYZE of each archive query one run of each operation made, on stderr."""
    from django.test.utils import CaptureQueriesContext

    for label, call in operations.items():
        with CaptureQueriesContext(connection) as captured:
            call()
        for query in captured.captured_queries:
            sql = query["sql"]
            if sql.startswith("SELECT") and ("viewer_study" in sql or "viewer_patient" in sql):
                with connection.cursor() as cursor:
                    cursor.execute(f"EXPLAIN ANALYZE {sql}")
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                print(f"--- {label}\n{sql}\n{plan}", file=sys.stderr)


def _worker(options) -> None:
    """One step in a process of its own: grow the archive, or measure it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
    import django

    django.setup()
    if options.grow:
        started = time.perf_counter()
        written = generate(options.seed, options.grow)
        elapsed = time.perf_counter() - started
        print(json.dumps({"instances_written": written, "seconds": elapsed}))
    else:
        print(json.dumps(measure(options.seed, options.rounds, options.explain)))


def _run(env: dict, *args: str) -> dict:
    command = [sys.executable, __file__, "--worker", *args]
    done = subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.PIPE)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def _postgres_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _copy_database(name: str, url: str, label: str, work: Path, options) -> str:
    """A copy of the database as it is now, to measure later; its URL."""
    if name == "postgresql":
        import psycopg

        admin = f"{options.postgres}/postgres"
        for attempt in range(20):
            try:
                _postgres_admin(
                    admin, f"CREATE DATABASE pacsweb_scale_{label} TEMPLATE pacsweb_scale"
                )
                break
            except psycopg.errors.ObjectInUse:  # autovacuum is visiting the source
                if attempt == 19:
                    raise
                time.sleep(1)
        return f"{options.postgres}/pacsweb_scale_{label}"
    source = Path(url.removeprefix("sqlite:///"))
    copy = work / f"scale-{label}.sqlite3"
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{copy}{suffix}")
    return f"sqlite:///{copy}"


def _drop_indexes(url: str, names: list[str]) -> None:
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            for index in names:
                conn.execute(f"DROP INDEX IF EXISTS {index}")
        return
    for index in names:
        _postgres_admin(url, f"DROP INDEX IF EXISTS {index}")


def run_backend(name: str, database_url: str, work: Path, options) -> dict:
    """Migrate a fresh database, grow it through each size keeping a copy at each, then
    measure the copies in turn, ``--passes`` times, so that the machine's load falls on
    every size alike."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PACSWEB_DATA": str(work / "data"),
        "PACSWEB_STORAGE": str(work / "archive"),
        "DJANGO_SETTINGS_MODULE": "pacsweb.settings",
    }
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, cwd=ROOT, check=True
    )
    urls: dict[str, str] = {}
    try:
        return _grow_and_measure(name, env, urls, work, options)
    finally:
        if name == "postgresql":
            for label in urls:
                _postgres_admin(
                    f"{options.postgres}/postgres", f"DROP DATABASE IF EXISTS pacsweb_scale_{label}"
                )


def _grow_and_measure(name: str, env: dict, urls: dict, work: Path, options) -> dict:
    database_url = env["DATABASE_URL"]
    for size in options.sizes:
        grown = _run(env, "--grow", str(size), "--seed", str(options.seed))
        print(
            f"{name}: grew to {size:,} studies (+{grown['instances_written']:,} instances) "
            f"in {grown['seconds']:.0f} s",
            flush=True,
        )
        urls[str(size)] = _copy_database(name, database_url, str(size), work, options)
    if options.without_index:
        largest = str(options.sizes[-1])
        label = f"{largest}_without"
        urls[label] = _copy_database(name, database_url, label, work, options)
        _drop_indexes(urls[label], options.without_index.split(","))
    found: dict[str, dict] = {}
    for number in range(options.passes):
        for label, url in urls.items():
            extra = ["--explain"] if options.explain and number == 0 else []
            step = _run(
                {**env, "DATABASE_URL": url},
                *("--seed", str(options.seed), "--rounds", str(options.rounds), *extra),
            )
            if label not in found:
                found[label] = step
                continue
            for operation, times in step["ms"].items():
                found[label]["ms"][operation] += times
            found[label]["rss_mib"] = max(found[label]["rss_mib"], step["rss_mib"])
        print(f"{name}: measured pass {number + 1} of {options.passes}", flush=True)
    return found


def print_table(name: str, found: dict) -> None:
    """Operation × size, median ms, and the largest size over the smallest."""
    labels = list(found)
    sizes = [label for label in labels if label.isdigit()]
    small, large = sizes[0], sizes[-1]
    heads = "".join(f"{int(size):>10,}" for size in sizes)
    ratio_head = f"{int(large) // 1000}k/{int(small) // 1000}k"
    without = f"{large}_without" if f"{large}_without" in found else None
    extra_head = f"{'w/o new idx':>13}{'w/o / with':>11}" if without else ""
    rounds = len(next(iter(found[small]["ms"].values())))
    print(f"\n{name}: median ms of {rounds} by studies in the archive")
    print(f"  {'operation':<34}{heads}{ratio_head:>10}{extra_head}")
    for operation in found[small]["ms"]:
        times = [statistics.median(found[size]["ms"][operation]) for size in sizes]
        cells = "".join(f"{t:10.1f}" for t in times)
        line = f"  {operation:<34}{cells}{times[-1] / times[0]:9.2f}x"
        if without:
            before = statistics.median(found[without]["ms"][operation])
            line += f"{before:13.1f}{before / times[-1]:10.2f}x"
        print(line)
    for counted in ("C-FIND by date, 1 month, matches", "instances"):
        cells = "".join(f"{found[size]['counts'][counted]:10,}" for size in sizes)
        print(f"  {counted:<34}{cells}")
    rss = [found[size]["rss_mib"] for size in sizes]
    cells = "".join(f"{r:10.0f}" for r in rss)
    print(f"  {'peak RSS, MiB':<34}{cells}{rss[-1] / rss[0]:9.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,5000")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--rounds", type=int, default=5, help="timings a pass, each size")
    parser.add_argument("--passes", type=int, default=3, help="turns over every size")
    parser.add_argument(
        "--without-index",
        default="",
        help="comma-separated index names: also measure a copy of the largest size without",
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--explain", action="store_true", help="PostgreSQL plans on stderr")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--grow", type=int, default=0, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        _worker(options)
        return
    sizes = "1000,5000" if options.quick else options.sizes
    options.sizes = sorted(int(size) for size in sizes.split(","))
    if any(size % CHUNK for size in options.sizes):
        parser.error(f"sizes are multiples of {CHUNK}")
    print(f"archive scale, seed {options.seed}, {datetime.date.today()}, load {_load()}")
    results = {}
    for backend in options.backends.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"pacsweb-scale-{backend}-"))
        try:
            if backend == "postgresql":
                admin = f"{options.postgres}/postgres"
                _postgres_admin(admin, "DROP DATABASE IF EXISTS pacsweb_scale")
                _postgres_admin(admin, "CREATE DATABASE pacsweb_scale")
                try:
                    url = f"{options.postgres}/pacsweb_scale"
                    results[backend] = run_backend(backend, url, work, options)
                finally:
                    _postgres_admin(admin, "DROP DATABASE IF EXISTS pacsweb_scale")
            elif backend == "sqlite":
                url = f"sqlite:///{work / 'scale.sqlite3'}"
                results[backend] = run_backend(backend, url, work, options)
            else:
                parser.error(f"unknown backend {backend!r}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    for backend, found in results.items():
        print_table(backend, found)
    print(f"load at the end {_load()}")


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
