"""Create or drop a throwaway database on a PostgreSQL server: pgdb.py ADMIN_URL NAME create|drop."""

import asyncio
import sys

import asyncpg


async def main(url: str, name: str, action: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        if action == "create":
            await connection.execute(f'CREATE DATABASE "{name}"')
        else:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


asyncio.run(main(*sys.argv[1:]))
