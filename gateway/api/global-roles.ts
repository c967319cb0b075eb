// The fixed global roles and what each allows (global tokens only).
import type { FastifyInstance } from 'fastify';
import { GLOBAL_ROLE_PERMISSIONS, GLOBAL_ROLES } from '../../shared/roles.js';
import { typed } from '../request.js';
import { responses } from './schemas.js';

const roleSchema = {
  type: 'object',
  required: ['id', 'name', 'description', 'permissions'],
  properties: {
    id: { type: 'string', description: 'the role name: roles are fixed, not stored' },
    name: { type: 'string', enum: GLOBAL_ROLES },
    description: { type: 'string' },
    permissions: {
      type: 'array',
      items: { type: 'string' },
      description: '`<resource>:read` or `<resource>:write`',
    },
  },
} as const;

export function globalRoleRoutes(app: FastifyInstance): void {
  typed(app).get(
    '/global_roles',
    {
      config: { globalRole: 'global_viewer' },
      schema: { tags: ['global'], response: responses({ 200: { type: 'array', items: roleSchema } }) },
    },
    async () => GLOBAL_ROLES.map((name) => ({ id: name, name, ...GLOBAL_ROLE_PERMISSIONS[name] })),
  );
}
